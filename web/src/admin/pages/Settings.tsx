// Settings in tabs: organization, dunning, members and invitations, API keys. A tab is
// shown only when the role may read what it lists; every change is behind can().
import * as Tabs from "@radix-ui/react-tabs";
import { PageHeader } from "../../components/ui";
import { useSession } from "../session";
import { DunningSettings, OrganizationSettings } from "./settings-billing";
import { ApiKeySettings, TeamSettings } from "./settings-team";

export default function Settings() {
  const { can } = useSession();
  const tabs = [
    { value: "organization", label: "Organization", show: can("getOrganization"), body: <OrganizationSettings /> },
    { value: "dunning", label: "Dunning", show: can("getOrganization") || can("listDunningCampaigns"), body: <DunningSettings /> },
    { value: "members", label: "Members", show: can("listMembers") || can("listInvites"), body: <TeamSettings /> },
    { value: "api_keys", label: "API keys", show: can("listApiKeys"), body: <ApiKeySettings /> },
  ].filter((t) => t.show);
  if (tabs.length === 0)
    return (
      <div>
        <PageHeader title="Settings" />
        <p className="text-sm text-slate-500">Your role has no settings to show.</p>
      </div>
    );
  return (
    <div>
      <PageHeader title="Settings" />
      <Tabs.Root defaultValue={tabs[0]?.value}>
        <Tabs.List aria-label="Settings sections" className="mb-4 flex gap-1 border-b border-slate-200">
          {tabs.map((t) => (
            <Tabs.Trigger
              key={t.value}
              value={t.value}
              className="rounded-t px-3 py-1.5 text-sm text-slate-700 data-[state=active]:border-b-2 data-[state=active]:border-indigo-700 data-[state=active]:font-semibold data-[state=active]:text-indigo-800"
            >
              {t.label}
            </Tabs.Trigger>
          ))}
        </Tabs.List>
        {tabs.map((t) => (
          <Tabs.Content key={t.value} value={t.value}>
            {t.body}
          </Tabs.Content>
        ))}
      </Tabs.Root>
    </div>
  );
}
