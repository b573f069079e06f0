// The HTML report in a real browser (Debian's Chromium, headless): the page
// renders to a screenshot that is not blank, logs nothing to the console,
// and every figure in its summary table equals the JSON report. PDF comes
// out of the same page, and without Chromium attestctl says so.
#include <fstream>

#include "common/json.h"
#include "common/strings.h"
#include "ctl/report_html.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_harness.h"
#include "tests/support/fleet.h"
#include "tests/support/process.h"
#include "tests/support/test_policy.h"

namespace attest::testing_support {
namespace {

const std::string kPolicy =
    std::string(kTestControls) +
    "windows:\n  - {id: q1, start: 2026-01-01T06:00:00Z, end: 2026-01-15T00:00:00Z}\n";

// Chromium, headless, without the sandbox (tests run as root).
std::vector<std::string> Chromium(std::vector<std::string> args) {
  args.insert(args.begin(), {"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                             "--hide-scrollbars"});
  return args;
}

// data-control="C" data-figure="F">TEXT<, as (C/F) -> TEXT.
std::map<std::string, std::string> Figures(const std::string& dom) {
  std::map<std::string, std::string> out;
  const std::string marker = "data-control=\"";
  for (size_t at = dom.find(marker); at != std::string::npos; at = dom.find(marker, at + 1)) {
    const size_t c0 = at + marker.size(), c1 = dom.find('"', c0);
    const size_t f0 = dom.find("data-figure=\"", c1) + 13, f1 = dom.find('"', f0);
    const size_t t0 = dom.find('>', f1) + 1, t1 = dom.find('<', t0);
    out[dom.substr(c0, c1 - c0) + "/" + dom.substr(f0, f1 - f0)] = dom.substr(t0, t1 - t0);
  }
  return out;
}

TEST(ReportPageE2eTest, TheHtmlReportRendersInChromiumWithTheJsonFigures) {
  const std::string dir = FreshDir("report_page_e2e");
  std::ofstream(dir + "/policy.yaml") << kPolicy;
  DaemonHarness daemon(dir, nullptr, {"--policy", dir + "/policy.yaml", "--judge-delay", "0s"});
  ASSERT_TRUE(daemon.Start().ok()) << ReadAll(daemon.log_path());
  const std::string ctl = BinaryPath("attestctl");
  std::string out, err;
  auto run = [&](std::vector<std::string> args) {
    const int rc = Attestctl(daemon.address(), dir, args, &out, &err);
    EXPECT_EQ(rc, 0) << out << err;
    return rc;
  };
  ASSERT_EQ(LoadSimulatedFleet(daemon.address(), dir, 6, 15, 4, "2026-01-01T00:00:00Z"), "");
  ASSERT_EQ(run({"except", "create", "--control", "log-shipping", "--host", "h0003", "--start",
                 "2026-01-05T00:00:00Z", "--end", "2026-01-08T00:00:00Z", "--reason",
                 "relay migration", "--approver", "ana", "--ticket", "CHG-7"}),
            0);
  ASSERT_EQ(run({"sample", "--window", "q1", "--control", "patch-sla", "--n", "3", "--seed", "5",
                 "--format", "csv"}),
            0);
  const std::string sampled_row =
      out.substr(out.find('\n') + 1, out.find(',', out.find('\n')) - out.find('\n') - 1);
  ASSERT_EQ(run({"report", "--window", "q1", "--format", "json"}), 0);
  auto report = Json::ParseReport(out);
  ASSERT_TRUE(report.ok()) << out;
  const std::string html = dir + "/report.html";
  ASSERT_EQ(run({"report", "--window", "q1", "--format", "html", "--out", html}), 0);
  const std::string page = ReadAll(html);
  for (const char* fetch : {"src=", "href=", "url(", "@import"}) {
    EXPECT_EQ(page.find(fetch), std::string::npos) << "self-contained: nothing to fetch: " << fetch;
  }
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_NE(page.find("<svg"), std::string::npos) << "the heatmap";
  EXPECT_NE(page.find("CHG-7"), std::string::npos) << "the exception relied on";
  EXPECT_NE(page.find("data-sample=\"patch-sla/5\""), std::string::npos) << "the appendix";
  EXPECT_NE(page.find("<td>" + sampled_row + "</td>"), std::string::npos)
      << "the sampled host " << sampled_row;

  // The DOM as Chromium built it, with the console on stderr.
  ASSERT_EQ(RunTool(Chromium({"--enable-logging=stderr", "--v=0", "--dump-dom", "file://" + html}),
                    dir, &out, &err),
            0)
      << err;
  EXPECT_EQ(err.find("CONSOLE"), std::string::npos) << "the page logged to the console:\n" << err;
  const std::map<std::string, std::string> shown = Figures(out);
  int checked = 0;
  for (const Json& c : report->Find("controls")->as_array()) {
    const std::string id = c.Find("id")->as_string();
    const Json* eff = c.Find("effectiveness");
    auto number = [](const Json& j) {
      if (auto i = j.as_int()) return static_cast<double>(*i);
      return j.as_double();
    };
    EXPECT_EQ(shown.at(id + "/effectiveness"),
              eff->is_null() ? "n/a" : ctl::PercentText(number(*eff)));
    EXPECT_EQ(shown.at(id + "/coverage"), ctl::PercentText(number(*c.Find("coverage"))));
    EXPECT_EQ(shown.at(id + "/hosts"), std::to_string(*c.Find("hosts")->as_int()));
    EXPECT_EQ(shown.at(id + "/deviations"),
              std::to_string(c.Find("deviations")->as_array().size()));
    EXPECT_EQ(shown.at(id + "/verdict"), c.Find("verdict")->as_string());
    ++checked;
  }
  EXPECT_EQ(checked, 4);

  // A screenshot of the report against one of an empty page.
  std::ofstream(dir + "/blank.html") << "<!DOCTYPE html><html><body></body></html>";
  for (const char* name : {"report", "blank"}) {
    ASSERT_EQ(RunTool(Chromium({"--window-size=1200,1600",
                                StrCat("--screenshot=", dir, "/", name, ".png"),
                                StrCat("file://", dir, "/", name, ".html")}),
                      dir, &out, &err),
              0)
        << err;
  }
  const std::string shot = ReadAll(dir + "/report.png"), blank = ReadAll(dir + "/blank.png");
  ASSERT_EQ(shot.substr(1, 3), "PNG");
  EXPECT_GT(shot.size(), 10 * blank.size()) << "the screenshot looks blank";

  // PDF: the same page printed by Chromium; without Chromium, a clear no.
  ASSERT_EQ(run({"report", "--window", "q1", "--format", "pdf", "--out", dir + "/report.pdf"}), 0);
  EXPECT_EQ(ReadAll(dir + "/report.pdf").substr(0, 5), "%PDF-");
  EXPECT_EQ(RunTool({"/bin/sh", "-c",
                     StrCat("ATTEST_CHROMIUM=/nonexistent ", ctl, " --daemon ", daemon.address(),
                            " report --window q1 --format pdf --out ", dir, "/no.pdf")},
                    dir, &out, &err),
            1);
  EXPECT_NE(err.find("apt install chromium"), std::string::npos) << err;
  EXPECT_TRUE(daemon.Stop().ok());
}

}  // namespace
}  // namespace attest::testing_support
