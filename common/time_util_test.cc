#include "common/time_util.h"

#include <optional>
#include <random>

#include "gtest/gtest.h"

namespace attest {
namespace {

TEST(TimeUtilTest, ParsesHumanDurations) {
  EXPECT_EQ(*ParseHumanDuration("15m"), absl::Minutes(15));
  EXPECT_EQ(*ParseHumanDuration("2h"), absl::Hours(2));
  EXPECT_EQ(*ParseHumanDuration("14d"), absl::Hours(14 * 24));
  EXPECT_EQ(*ParseHumanDuration("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseHumanDuration("0s"), absl::ZeroDuration());
  EXPECT_EQ(*ParseHumanDuration("250ms"), absl::Milliseconds(250));
  EXPECT_FALSE(ParseHumanDuration("").ok());
  EXPECT_FALSE(ParseHumanDuration("15").ok());
  EXPECT_FALSE(ParseHumanDuration("m").ok());
  EXPECT_FALSE(ParseHumanDuration("3y").ok());
  EXPECT_FALSE(ParseHumanDuration("-1h").ok());
}

TEST(TimeUtilTest, Rfc3339RoundTripsThroughProto) {
  absl::Time t = *ParseRfc3339("2026-01-01T00:00:00.25Z");
  EXPECT_EQ(FormatRfc3339(t), "2026-01-01T00:00:00.25Z");
  EXPECT_EQ(FromProto(ToProto(t)), t);
  EXPECT_EQ(ToProto(t).nanos(), 250000000);
  EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2026-01-01T02:00:00+02:00")), "2026-01-01T00:00:00Z");
  EXPECT_FALSE(ParseRfc3339("yesterday").ok());
}

TEST(TimeUtilTest, FastParserAgreesWithAbsl) {
  auto absl_parse = [](const std::string& text) -> std::optional<absl::Time> {
    absl::Time t;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, text, &t, &err)) return std::nullopt;
    return t;
  };
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    const int64_t secs = static_cast<int64_t>(rng() % 9467280000ULL) - 2208988800LL;
    const int64_t nanos = (i % 3 == 0) ? 0 : static_cast<int64_t>(rng() % 1000000000);
    const std::string text = FormatRfc3339(absl::FromUnixSeconds(secs) + absl::Nanoseconds(nanos));
    auto fast = ParseRfc3339(text);
    ASSERT_TRUE(fast.ok()) << text;
    ASSERT_EQ(*fast, *absl_parse(text)) << text;
  }
  // Edges of the fast form: leap days, bad dates and fractions fall back
  // to (and agree with) the general parser.
  for (const char* text :
       {"2024-02-29T23:59:59Z", "2023-02-29T00:00:00Z", "2100-02-29T00:00:00Z",
        "2000-02-29T12:00:00.5Z", "2026-13-01T00:00:00Z", "2026-04-31T00:00:00Z",
        "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01T00:00:60Z",
        "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00.1234567891Z", "2026-01-01t00:00:00z",
        "2026-01-01T00:00:00+00:00", "2026-1-01T00:00:00Z", "1969-12-31T23:59:59.999999999Z"}) {
    auto fast = ParseRfc3339(text);
    auto general = absl_parse(text);
    ASSERT_EQ(fast.ok(), general.has_value()) << text;
    if (general) {
      EXPECT_EQ(*fast, *general) << text;
    }
  }
}

TEST(TimeUtilTest, FastFormatterAgreesWithCctz) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200000; ++i) {
    // 1900..2200, with and without sub-second parts.
    const int64_t secs = static_cast<int64_t>(rng() % 9467280000ULL) - 2208988800LL;
    const int64_t nanos = (i % 3 == 0) ? 0 : static_cast<int64_t>(rng() % 1000000000);
    const absl::Time t = absl::FromUnixSeconds(secs) + absl::Nanoseconds(nanos);
    ASSERT_EQ(FormatRfc3339(t), absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", t, absl::UTCTimeZone()))
        << secs << "." << nanos;
  }
}

}  // namespace
}  // namespace attest
