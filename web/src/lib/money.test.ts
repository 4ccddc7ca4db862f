import { describe, expect, it } from "vitest";
import { currencyDigits, formatMoney, minorToDecimalString, parseMajorToMinor } from "./money";

describe("money", () => {
  it("uses each currency's minor units", () => {
    expect(currencyDigits("USD")).toBe(2);
    expect(currencyDigits("JPY")).toBe(0);
    expect(currencyDigits("KWD")).toBe(3);
  });

  it("formats minor units without floats", () => {
    expect(formatMoney(123456, "USD")).toBe("$1,234.56");
    expect(formatMoney(5, "USD")).toBe("$0.05");
    expect(formatMoney(-1999, "EUR", "en-US")).toBe("-€19.99");
    expect(formatMoney(1500, "JPY")).toBe("¥1,500");
    expect(formatMoney(1001, "KWD")).toMatch(/^KWD\s1\.001$/);
    expect(formatMoney(null, "USD")).toBe("—");
  });

  it("keeps every cent of amounts beyond a double's precision", () => {
    // 2^53 + 1 cents cannot be held by a float; the string path keeps it exact.
    expect(minorToDecimalString("9007199254740993", "USD")).toBe("90071992547409.93");
    expect(formatMoney("9007199254740993", "USD")).toBe("$90,071,992,547,409.93");
  });

  it("parses what a form accepts into minor units, refusing extra decimals", () => {
    expect(parseMajorToMinor("12.3", "USD")).toBe(1230);
    expect(parseMajorToMinor("0.10", "USD")).toBe(10);
    expect(parseMajorToMinor("7", "JPY")).toBe(7);
    expect(parseMajorToMinor("7.5", "JPY")).toBeNull();
    expect(parseMajorToMinor("1.005", "USD")).toBeNull();
    expect(parseMajorToMinor("abc", "USD")).toBeNull();
    // 0.1 + 0.2 would be 0.30000000000000004 in floats; here it is digits.
    expect(parseMajorToMinor("0.30", "USD")).toBe(30);
  });
});
