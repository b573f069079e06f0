#include "common/time_util.h"

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "common/strings.h"

namespace attest {

std::pair<int64_t, int64_t> UnixSecondsAndNanos(absl::Time t) {
  const int64_t total = absl::ToUnixNanos(t);
  int64_t seconds = total / 1000000000;
  int64_t nanos = total % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --seconds;
  }
  return {seconds, nanos};
}

namespace {

void Append2(std::string* out, int v) {
  out->push_back(static_cast<char>('0' + v / 10));
  out->push_back(static_cast<char>('0' + v % 10));
}

}  // namespace

void AppendRfc3339(std::string* out, absl::Time t) {
  // On the hot path of the evidence chain: civil-from-days (H. Hinnant)
  // instead of cctz, which formats through a time-zone lookup.
  auto [secs, nanos] = UnixSecondsAndNanos(t);
  int64_t days = secs / 86400;
  int64_t sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    --days;
  }
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 0 || year > 9999) {
    out->append(absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", t, absl::UTCTimeZone()));
    return;
  }
  Append2(out, static_cast<int>(year / 100));
  Append2(out, static_cast<int>(year % 100));
  out->push_back('-');
  Append2(out, month);
  out->push_back('-');
  Append2(out, day);
  out->push_back('T');
  Append2(out, static_cast<int>(sod / 3600));
  out->push_back(':');
  Append2(out, static_cast<int>(sod / 60 % 60));
  out->push_back(':');
  Append2(out, static_cast<int>(sod % 60));
  if (nanos != 0) {
    char digits[10];
    for (int i = 8; i >= 0; --i) {
      digits[i] = static_cast<char>('0' + nanos % 10);
      nanos /= 10;
    }
    int len = 9;
    while (digits[len - 1] == '0') --len;
    out->push_back('.');
    out->append(digits, static_cast<size_t>(len));
  }
  out->push_back('Z');
}

std::string FormatRfc3339(absl::Time t) {
  std::string out;
  AppendRfc3339(&out, t);
  return out;
}

namespace {

// Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's
// days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// The form attest itself writes, "YYYY-MM-DDTHH:MM:SS[.fraction]Z", parsed
// without absl's general parser (evidence carries two times per record,
// and verify reads millions). nullopt: anything else, for the general one.
std::optional<absl::Time> ParseCanonicalUtc(std::string_view t) {
  if (t.size() < 20 || t.back() != 'Z' || t[4] != '-' || t[7] != '-' || t[10] != 'T' ||
      t[13] != ':' || t[16] != ':') {
    return std::nullopt;
  }
  auto num = [&](size_t at, size_t n, int64_t* out) {
    int64_t v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return false;
      v = v * 10 + (t[i] - '0');
    }
    *out = v;
    return true;
  };
  int64_t y, mo, d, h, mi, sec;
  if (!num(0, 4, &y) || !num(5, 2, &mo) || !num(8, 2, &d) || !num(11, 2, &h) || !num(14, 2, &mi) ||
      !num(17, 2, &sec)) {
    return std::nullopt;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] + (mo == 2 && leap ? 1 : 0) || h > 23 ||
      mi > 59 || sec > 59) {
    return std::nullopt;
  }
  int64_t nanos = 0;
  if (t.size() > 20) {
    const size_t digits = t.size() - 21;
    if (t[19] != '.' || digits < 1 || digits > 9 || !num(20, digits, &nanos)) return std::nullopt;
    for (size_t i = digits; i < 9; ++i) nanos *= 10;
  }
  const int64_t secs =
      DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 +
      mi * 60 + sec;
  return absl::FromUnixSeconds(secs) + absl::Nanoseconds(nanos);
}

}  // namespace

absl::StatusOr<absl::Time> ParseRfc3339(std::string_view text) {
  if (auto fast = ParseCanonicalUtc(text)) return *fast;
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) {
    return absl::InvalidArgumentError(
        attest::StrCat("not an RFC 3339 time: \"", text, "\" (", err, ")"));
  }
  return t;
}

absl::StatusOr<absl::Duration> ParseHumanDuration(std::string_view text) {
  std::string_view rest = text;
  while (!rest.empty() && absl::ascii_isspace(rest.front())) rest.remove_prefix(1);
  while (!rest.empty() && absl::ascii_isspace(rest.back())) rest.remove_suffix(1);
  if (rest.empty()) return absl::InvalidArgumentError("empty duration");
  absl::Duration total;
  const std::string original(rest);
  while (!rest.empty()) {
    size_t digits = 0;
    while (digits < rest.size() && absl::ascii_isdigit(rest[digits])) ++digits;
    if (digits == 0 || digits > 12) {
      return absl::InvalidArgumentError(
          attest::StrCat("bad duration \"", original, "\": want e.g. 15m, 2h, 14d"));
    }
    const int64_t n = std::stoll(std::string(rest.substr(0, digits)));
    rest.remove_prefix(digits);
    size_t unit_len = 0;
    while (unit_len < rest.size() && absl::ascii_isalpha(rest[unit_len])) ++unit_len;
    const std::string_view unit = rest.substr(0, unit_len);
    rest.remove_prefix(unit_len);
    if (unit.empty()) {
      return absl::InvalidArgumentError(
          attest::StrCat("bad duration \"", original, "\": want e.g. 15m, 2h, 14d"));
    }
    if (unit == "ms")
      total += absl::Milliseconds(n);
    else if (unit == "s")
      total += absl::Seconds(n);
    else if (unit == "m")
      total += absl::Minutes(n);
    else if (unit == "h")
      total += absl::Hours(n);
    else if (unit == "d")
      total += absl::Hours(24 * n);
    else if (unit == "w")
      total += absl::Hours(24 * 7 * n);
    else {
      return absl::InvalidArgumentError(attest::StrCat(
          "bad duration \"", original, "\": unknown unit \"", unit, "\" (use ms, s, m, h, d, w)"));
    }
  }
  return total;
}

}  // namespace attest
