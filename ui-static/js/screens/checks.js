// Pre-checks for immediate feedback where a value is typed; the server
// re-checks everything with the rules package.
import { t } from "../i18n.js";

function luhnOK(d) {
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    let n = Number(d[i]) * (i % 2 === 0 ? 2 : 1);
    if (n > 9) n -= 9;
    sum += n;
  }
  return sum % 10 === 0;
}

export function checkPnr(v) {
  const d = v.replace(/[-+]/g, "");
  if (!/^\d*$/.test(d)) return t("check.pnr.format");
  if (d.length < 12) return "";
  if (d.length > 12) return t("check.pnr.format");
  return luhnOK(d.slice(2)) ? "" : t("check.pnr.luhn");
}

export function checkDate(v) {
  if (v.length < 10) return /^\d{0,4}(-\d{0,2}(-\d{0,2})?)?$/.test(v) ? "" : t("check.date");
  return /^\d{4}-\d{2}-\d{2}$/.test(v) && !isNaN(Date.parse(v)) ? "" : t("check.date");
}

export function checkHSA(v) {
  return /^(S(E(\d{0,10}(-[A-Z0-9]{0,31})?)?)?)?$/.test(v) ? "" : t("check.hsa");
}
