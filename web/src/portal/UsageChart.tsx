// The current period's amount per metric (its own chunk: recharts loads with the tab).
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatMoney } from "../lib/money";
import type { PortalUsage } from "./types";

export default function UsageChart({ usage }: { usage: PortalUsage }) {
  // The chart's bar heights are the integer minor units; labels are formatted exactly.
  const data = usage.charges_usage.map((c) => ({ metric: c.billable_metric.name, cents: c.amount_cents }));
  return (
    <figure aria-label="Usage by metric" className="my-3 h-56">
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="metric" />
          <YAxis allowDecimals={false} tickFormatter={(v: number) => formatMoney(v, usage.currency)} width={90} />
          <Tooltip formatter={(v) => formatMoney(Number(v), usage.currency)} />
          <Bar dataKey="cents" fill="#4f46e5" />
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}
