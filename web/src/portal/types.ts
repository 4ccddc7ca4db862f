// The portal API's shapes (bxb/portal/shapes.py): what a customer may see of its own
// billing. The routes answer untyped objects in the OpenAPI document, so they are here.

export interface PortalOrganization {
  name: string;
  legal_name: string | null;
  logo_url: string | null;
  brand_color: string | null;
}

export interface PortalProfile {
  external_id: string;
  name: string | null;
  email: string | null;
  currency: string | null;
  applicable_timezone: string;
  organization: PortalOrganization;
}

export interface PortalInvoice {
  lago_id: string;
  number: string;
  issuing_date: string;
  status: string;
  payment_status: string;
  currency: string;
  total_amount_cents: number;
  total_due_amount_cents: number;
}

export interface PortalPlan {
  code: string;
  name: string;
  interval: string;
  amount_cents: number;
  amount_currency: string;
}

export interface PortalSubscription {
  external_id: string;
  name: string | null;
  status: string;
  plan: PortalPlan | { code: string };
  next_plan_code: string | null;
  ending_at: string | null;
  current_billing_period_started_at: string | null;
  current_billing_period_ending_at: string | null;
}

export interface PortalChargeUsage {
  units: string;
  events_count: number;
  amount_cents: number;
  amount_currency: string;
  billable_metric: { code: string; name: string };
}

export interface PortalUsage {
  from_datetime: string;
  to_datetime: string;
  currency: string;
  amount_cents: number;
  total_amount_cents: number;
  charges_usage: PortalChargeUsage[];
}

export interface PortalWallet {
  name: string | null;
  status: string;
  currency: string;
  credits_balance: string;
  balance_cents: number;
}

export interface PortalPaymentMethod {
  brand: string | null;
  last4: string | null;
  exp_month: number | null;
  exp_year: number | null;
}

export interface Page<T> {
  items: T[];
  meta?: { current_page: number; next_page?: number | null; prev_page?: number | null; total_pages: number; total_count: number };
}
