// Money as the API sends it: integer minor units (amount_cents) and an ISO 4217 code.
// Never float arithmetic: the minor units are split as digits, and Intl formats the
// decimal string (exact for any size). The number of decimals is the currency's as CLDR
// knows it, the same data bxb's server reads through babel.

const digitsCache = new Map<string, number>();

export function currencyDigits(currency: string): number {
  let digits = digitsCache.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
      .maximumFractionDigits ?? 2;
    digitsCache.set(currency, digits);
  }
  return digits;
}

/** "123456", "USD" -> "1234.56" as a decimal string (sign kept, no floats). */
export function minorToDecimalString(cents: number | string | bigint, currency: string): string {
  const digits = currencyDigits(currency);
  let text = BigInt(cents).toString();
  const negative = text.startsWith("-");
  if (negative) text = text.slice(1);
  if (digits === 0) return (negative ? "-" : "") + text;
  text = text.padStart(digits + 1, "0");
  const whole = text.slice(0, -digits);
  const fraction = text.slice(-digits);
  return `${negative ? "-" : ""}${whole}.${fraction}`;
}

/** 123456, "USD" -> "$1,234.56" in the given locale. */
export function formatMoney(
  cents: number | string | bigint | null | undefined,
  currency: string | null | undefined,
  locale = "en-US",
): string {
  if (cents === null || cents === undefined || !currency) return "—";
  const format = new Intl.NumberFormat(locale, { style: "currency", currency });
  // format() takes a decimal string exactly (Intl.NumberFormat v3).
  return format.format(minorToDecimalString(cents, currency) as unknown as number);
}

/** "12.30", "USD" -> 1230; null when the text is not an amount with at most the currency's
 * decimals (a form then shows the error; the server checks again). */
export function parseMajorToMinor(text: string, currency: string): number | null {
  const digits = currencyDigits(currency);
  const match = /^\s*(-?)(\d+)(?:\.(\d*))?\s*$/.exec(text);
  if (!match) return null;
  const [, sign, whole, fraction = ""] = match;
  if (fraction.length > digits) return null;
  const minor = BigInt((whole ?? "0") + fraction.padEnd(digits, "0"));
  const value = sign === "-" ? -minor : minor;
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER))
    return null;
  return Number(value);
}
