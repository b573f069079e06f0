#include "ctl/report_html.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "common/strings.h"
#include "common/time_util.h"

namespace attest::ctl {
namespace {

constexpr int kMaxDeviationRows = 500;  // per control; the CSV has them all

std::string Esc(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Time(const google::protobuf::Timestamp& t) { return FormatRfc3339(FromProto(t)); }

std::string Hours(int64_t seconds) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f h", static_cast<double>(seconds) / 3600);
  return buf;
}

std::string Join(const google::protobuf::RepeatedPtrField<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Red (0.90 and below) to green (1.0) through amber.
std::string Color(double effectiveness) {
  const double t = std::clamp((effectiveness - 0.9) / 0.1, 0.0, 1.0);
  const int r = static_cast<int>(220 - 170 * t), g = static_cast<int>(60 + 120 * t), b = 60;
  char buf[16];
  snprintf(buf, sizeof buf, "#%02x%02x%02x", r, g, b);
  return buf;
}

constexpr char kStyle[] = R"(
body { font: 14px/1.4 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1d232a;
       margin: 2em auto; max-width: 1100px; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { font-size: 1.2em; margin-top: 2em;
     border-bottom: 1px solid #d0d7de; padding-bottom: .2em; }
.meta { color: #57606a; } table { border-collapse: collapse; width: 100%; margin: .5em 0; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eaeef2; vertical-align: top; }
th { background: #f6f8fa; } td.t { white-space: nowrap; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #1a7f37; font-weight: 600; } .noted { color: #bc4c00; font-weight: 600; }
.findings { color: #57606a; font-size: .9em; } code { font-size: .9em; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } }
)";

void SummaryTable(std::string* out,
                  const google::protobuf::RepeatedPtrField<v1::ControlSummary>& cs, bool data) {
  *out +=
      "<table><tr><th>Control</th><th>TSC</th><th>Effectiveness</th><th>Coverage</th>"
      "<th>Hosts</th><th>Deviations</th><th>Verdict</th></tr>\n";
  for (const v1::ControlSummary& c : cs) {
    auto cell = [&](std::string_view figure, const std::string& text) {
      return data ? StrCat("<td class=\"num\" data-control=\"", Esc(c.id()), "\" data-figure=\"",
                           figure, "\">", Esc(text), "</td>")
                  : StrCat("<td class=\"num\">", Esc(text), "</td>");
    };
    const bool ok = c.verdict() == "operated effectively";
    StrAppend(out, "<tr><td><b>", Esc(c.id()), "</b><br>", Esc(c.title()), "</td><td>",
              Esc(Join(c.tsc())), "</td>",
              cell("effectiveness", c.has_effectiveness() ? PercentText(c.effectiveness()) : "n/a"),
              cell("coverage", PercentText(c.coverage())), cell("hosts", StrCat(c.hosts())),
              cell("deviations", StrCat(c.deviations_size())), "<td><span class=\"",
              ok ? "ok" : "noted", "\"",
              data ? StrCat(" data-control=\"", Esc(c.id()), "\" data-figure=\"verdict\"") : "",
              ">", Esc(c.verdict()), "</span>");
    for (const std::string& f : c.findings())
      StrAppend(out, "<div class=\"findings\">", Esc(f), "</div>");
    *out += "</td></tr>\n";
  }
  *out += "</table>\n";
}

// Controls x weeks (from the window's first day), coloured by the week's
// effectiveness.
void Heatmap(std::string* out, const v1::WindowSummary& s) {
  std::vector<std::string> weeks;  // first day of each week
  std::map<std::string, std::map<size_t, v1::StateSeconds>> cells;
  const int64_t start_day = s.window().start().seconds() / 86400;
  for (const v1::ControlSummary& c : s.controls()) {
    for (const v1::DayFigures& d : c.days()) {
      auto t = ParseRfc3339(d.day() + "T00:00:00Z");
      if (!t.ok()) continue;
      const size_t week = static_cast<size_t>((absl::ToUnixSeconds(*t) / 86400 - start_day) / 7);
      if (weeks.size() <= week) weeks.resize(week + 1);
      v1::StateSeconds& cell = cells[c.id()][week];
      cell.set_pass(cell.pass() + d.seconds().pass());
      cell.set_fail(cell.fail() + d.seconds().fail());
    }
  }
  if (weeks.empty()) {
    *out += "<p class=\"meta\">No daily figures.</p>\n";
    return;
  }
  const int cw = 18, ch = 22, left = 150, top = 20;
  const int width = left + cw * static_cast<int>(weeks.size()) + 10;
  const int height = top + ch * s.controls_size() + 10;
  StrAppend(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"", width, "\" height=\"",
            height, "\" role=\"img\" aria-label=\"effectiveness per control and week\">\n");
  for (size_t w = 0; w < weeks.size(); w += 4) {
    StrAppend(out, "<text x=\"", left + cw * static_cast<int>(w), "\" y=\"12\" font-size=\"10\">w",
              w + 1, "</text>");
  }
  int row = 0;
  for (const v1::ControlSummary& c : s.controls()) {
    const int y = top + ch * row++;
    StrAppend(out, "<text x=\"0\" y=\"", y + 15, "\" font-size=\"12\">", Esc(c.id()), "</text>");
    for (size_t w = 0; w < weeks.size(); ++w) {
      const v1::StateSeconds& cell = cells[c.id()][w];
      const int64_t judged = cell.pass() + cell.fail();
      const double eff = judged > 0 ? static_cast<double>(cell.pass()) / judged : -1;
      StrAppend(out, "<rect x=\"", left + cw * static_cast<int>(w), "\" y=\"", y, "\" width=\"",
                cw - 2, "\" height=\"", ch - 2, "\" fill=\"", eff < 0 ? "#d0d7de" : Color(eff),
                "\"><title>", Esc(c.id()), ", week ", w + 1, ": ",
                eff < 0 ? "no PASS or FAIL" : PercentText(eff), "</title></rect>");
    }
    *out += "\n";
  }
  *out +=
      "</svg>\n<p class=\"meta\">Green is 100% effective, red 90% or less; grey: no PASS or "
      "FAIL that week.</p>\n";
}

// What an auditor samples of an access review: the population, who
// decided what and when, and when each revocation left each host.
void ReviewSections(std::string* out, const std::vector<v1::ReviewDetail>& reviews) {
  constexpr int kMaxDecisionRows = 2000;
  *out += "<h2>User access reviews</h2>\n";
  if (reviews.empty()) {
    *out +=
        "<p class=\"meta\">No access review campaign serves this window; <code>attestctl review "
        "start</code> takes one.</p>\n";
    return;
  }
  for (const v1::ReviewDetail& d : reviews) {
    const v1::ReviewStatus& st = d.status();
    const v1::ReviewCampaign& c = st.campaign();
    std::map<std::string, const v1::ReviewEntry*> entries;
    for (const v1::ReviewEntry& e : d.entries()) entries[e.id()] = &e;
    auto what = [&](const std::string& id) {
      auto it = entries.find(id);
      if (it == entries.end()) return std::string();
      const v1::ReviewEntry& e = *it->second;
      return StrCat(e.kind(), " ", e.user(), e.detail().empty() ? "" : ": ", e.detail());
    };
    std::string reviewers;
    for (const std::string& r : c.reviewers()) {
      StrAppend(&reviewers, reviewers.empty() ? "" : ", ", r);
    }
    StrAppend(out, "<h3 data-review=\"", Esc(c.id()), "\">Campaign ", Esc(c.id()), "</h3>\n",
              "<p class=\"meta\">Started ", Time(c.started_at()), " by ", Esc(c.recorded_by()),
              ", due ", Time(c.due()), "; ",
              st.has_completed_at()
                  ? StrCat("completed ", Time(st.completed_at()))
                  : StrCat(st.open(), " entries still open", st.overdue() ? " (overdue)" : ""),
              ". Population: ", c.hosts(), " hosts in scope (", c.hosts_without_snapshot(),
              " without an access snapshot), ", c.entries(), " entries, SHA-256 <code>",
              Esc(c.population_sha256()), "</code>. Reviewers: ",
              reviewers.empty() ? "anyone with an admin certificate" : Esc(reviewers), ".</p>\n");
    *out +=
        "<table><tr><th>Entries</th><th>Decided</th><th>Kept</th><th>Revoked</th>"
        "<th>Revocations on hosts</th><th>Confirmed removed</th><th>Late</th></tr>\n<tr>";
    for (auto [figure, v] : {std::pair<const char*, uint64_t>{"entries", c.entries()},
                             {"decided", st.decided()},
                             {"kept", st.kept()},
                             {"revoked", st.revoked()},
                             {"revocations", st.revocations()},
                             {"confirmed", st.revocations_confirmed()},
                             {"late", st.revocations_late()}}) {
      StrAppend(out, "<td class=\"num\" data-review=\"", Esc(c.id()), "\" data-figure=\"", figure,
                "\">", v, "</td>");
    }
    *out += "</tr></table>\n";
    *out +=
        "<table><tr><th>Entry</th><th>Access</th><th>Hosts</th><th>Decision</th><th>Reviewer</th>"
        "<th>Decided</th><th>Reason</th></tr>\n";
    int rows = 0;
    for (const v1::ReviewDecision& x : d.decisions()) {
      if (rows++ == kMaxDecisionRows) break;
      auto e = entries.find(x.entry());
      StrAppend(out, "<tr><td><code>", Esc(x.entry()), "</code></td><td>", Esc(what(x.entry())),
                "</td><td class=\"num\">", e == entries.end() ? 0 : e->second->hosts_size(),
                "</td><td>", x.outcome() == v1::REVIEW_OUTCOME_REVOKE ? "revoke" : "keep",
                "</td><td>", Esc(x.reviewer()), "</td><td>", Time(x.decided_at()), "</td><td>",
                Esc(x.reason()), "</td></tr>\n");
    }
    *out += "</table>\n";
    if (d.decisions_size() > kMaxDecisionRows) {
      StrAppend(out, "<p class=\"meta\">", d.decisions_size() - kMaxDecisionRows,
                " more decisions: <code>attestctl review export --campaign ", Esc(c.id()),
                "</code> lists every one.</p>\n");
    }
    if (d.revocations().empty()) continue;
    *out +=
        "<table><tr><th>Entry</th><th>Access</th><th>Host</th><th>Revoked</th><th>Deadline</th>"
        "<th>Confirmed removed</th></tr>\n";
    for (const v1::RevocationState& r : d.revocations()) {
      std::string confirmed = "not yet";
      if (r.has_confirmed_at()) {
        confirmed = StrCat(Time(r.confirmed_at()), " (record ", r.confirmed_by_index(), ")",
                           r.confirmed_at().seconds() >= r.deadline().seconds() ? ", late" : "");
      }
      StrAppend(out, "<tr data-revocation=\"", Esc(r.entry()), "/", Esc(r.host()), "\"><td><code>",
                Esc(r.entry()), "</code></td><td>", Esc(what(r.entry())), "</td><td>",
                Esc(r.host()), "</td><td>", Time(r.decided_at()), "</td><td>", Time(r.deadline()),
                "</td><td>", confirmed, "</td></tr>\n");
    }
    *out += "</table>\n";
  }
}

}  // namespace

std::string PercentText(double fraction) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.3f%%", fraction * 100);
  return buf;
}

std::string SummaryHtml(const v1::WindowSummary& s, const ReportContext& ctx) {
  const v1::WindowDef& w = s.window();
  std::string out =
      StrCat("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
             "<title>attest: ", Esc(w.id()), "</title><style>", kStyle, "</style></head><body>\n");
  StrAppend(&out, "<h1>Period-coverage report: ", Esc(w.id()), "</h1>\n<p class=\"meta\">",
            Time(w.start()), " to ", Time(w.end()), ", evaluated until ", Time(s.evaluated_until()),
            "; computed ", Time(s.computed_at()), ". Thresholds: effectiveness ",
            PercentText(w.thresholds().effectiveness()), ", coverage ",
            PercentText(w.thresholds().coverage()), ", longest deviation ",
            Hours(w.thresholds().max_deviation_seconds()), ".</p>\n");
  out += "<h2>Summary</h2>\n";
  SummaryTable(&out, s.controls(), /*data=*/true);
  out += "<h2>Effectiveness per week</h2>\n";
  Heatmap(&out, s);

  out += "<h2>Deviations</h2>\n";
  for (const v1::ControlSummary& c : s.controls()) {
    StrAppend(&out, "<h3>", Esc(c.id()), " (", c.deviations_size(), ")</h3>\n");
    if (c.deviations().empty()) continue;
    out +=
        "<table><tr><th>Host</th><th>Start</th><th>End</th><th>Duration</th><th>Cause</th></tr>\n";
    int shown = 0;
    for (const auto& d : c.deviations()) {
      if (++shown > kMaxDeviationRows) break;
      StrAppend(&out, "<tr><td>", Esc(d.host()), "</td><td class=\"t\">", Time(d.start()),
                "</td><td class=\"t\">", Time(d.end()), "</td><td class=\"num\">",
                Hours(d.seconds()), "</td><td>", Esc(d.cause()), "</td></tr>\n");
    }
    out += "</table>\n";
    if (c.deviations_size() > kMaxDeviationRows) {
      StrAppend(&out, "<p class=\"meta\">", c.deviations_size() - kMaxDeviationRows,
                " more: <code>attestctl report --window ", Esc(w.id()),
                " --format csv --out FILE</code> lists every one.</p>\n");
    }
  }

  out += "<h2>Exceptions relied on</h2>\n";
  int listed = 0;
  for (const v1::Exception& x : ctx.exceptions) {
    const int64_t end = x.has_revoked_at() ? std::min(x.end().seconds(), x.revoked_at().seconds())
                                           : x.end().seconds();
    if (end <= w.start().seconds() || x.start().seconds() >= w.end().seconds()) continue;
    if (listed++ == 0) {
      out +=
          "<table><tr><th>Id</th><th>Control</th><th>Scope</th><th>From</th><th>Until</th>"
          "<th>Reason</th><th>Approved by</th><th>Ticket</th></tr>\n";
    }
    std::string scope = x.host();
    for (const auto& [k, v] : x.selector()) scope += (scope.empty() ? "" : ",") + k + "=" + v;
    StrAppend(&out, "<tr><td>", Esc(x.id()), "</td><td>", Esc(x.control()), "</td><td>", Esc(scope),
              "</td><td>", Time(x.start()), "</td><td>", Time(x.end()),
              x.has_revoked_at() ? StrCat(" (revoked ", Time(x.revoked_at()), ")") : "",
              "</td><td>", Esc(x.reason()), "</td><td>", Esc(x.approver()), "</td><td>",
              Esc(x.ticket()), "</td></tr>\n");
  }
  out += listed > 0 ? "</table>\n" : "<p class=\"meta\">None.</p>\n";

  out += "<h2>Approvals of access changes</h2>\n";
  listed = 0;
  for (const v1::Approval& a : ctx.approvals) {
    if (a.approved_at().seconds() < w.start().seconds() ||
        a.approved_at().seconds() >= w.end().seconds()) {
      continue;
    }
    if (listed++ == 0) {
      out +=
          "<table><tr><th>Change</th><th>Host</th><th>Approved</th><th>By</th><th>Ticket</th>"
          "<th>Recorded</th></tr>\n";
    }
    StrAppend(&out, "<tr><td>", Esc(a.change_id()), a.revoked() ? " (revoked)" : "", "</td><td>",
              Esc(a.host()), "</td><td>", Time(a.approved_at()), "</td><td>", Esc(a.approver()),
              "</td><td>", Esc(a.ticket()), "</td><td>", Time(a.recorded_at()), "</td></tr>\n");
  }
  out += listed > 0 ? "</table>\n" : "<p class=\"meta\">None.</p>\n";

  ReviewSections(&out, ctx.reviews);

  if (!s.group_by().empty()) {
    StrAppend(&out, "<h2>Per ", Esc(s.group_by()), "</h2>\n");
    for (const v1::GroupSummary& g : s.groups()) {
      StrAppend(&out, "<h3>", Esc(s.group_by()), " = ",
                g.value().empty() ? "(unset)" : Esc(g.value()), "</h3>\n");
      SummaryTable(&out, g.controls(), /*data=*/false);
    }
  }

  out += "<h2>Appendix: samples drawn</h2>\n";
  if (ctx.samples.empty()) {
    out +=
        "<p class=\"meta\">No sample was drawn for this window; "
        "<code>attestctl sample</code> draws a reproducible one and records the draw.</p>\n";
  }
  for (const v1::SampleDraw& d : ctx.samples) {
    StrAppend(&out, "<h3 data-sample=\"", Esc(d.control()), "/", d.seed(), "\">", Esc(d.control()),
              ": ", d.items_size(), " of ", d.population(), " host-days, seed ", d.seed(),
              "</h3>\n", "<p class=\"meta\">Drawn ", Time(d.drawn_at()), " by ", Esc(d.drawn_by()),
              ". Redraw: <code>attestctl sample --window ", Esc(d.window()), " --control ",
              Esc(d.control()), " --n ", d.n(), " --seed ", d.seed(),
              "</code>. Method: ", Esc(d.method()), ".</p>\n",
              "<table><tr><th>Host</th><th>Day</th><th>PASS</th><th>FAIL</th><th>EXCEPTED</th>"
              "<th>NO EVIDENCE</th><th>Evidence records</th></tr>\n");
    for (const v1::SampleDrawItem& i : d.items()) {
      StrAppend(&out, "<tr><td>", Esc(i.host()), "</td><td class=\"t\">", Esc(i.day()),
                "</td><td class=\"num\">", Hours(i.seconds().pass()), "</td><td class=\"num\">",
                Hours(i.seconds().fail()), "</td><td class=\"num\">", Hours(i.seconds().excepted()),
                "</td><td class=\"num\">", Hours(i.seconds().no_evidence()),
                "</td><td class=\"num\">", i.evidence_records(), "</td></tr>\n");
    }
    out += "</table>\n";
  }

  out += "<h2>Policy versions and evidence</h2>\n<ul>\n";
  std::vector<std::string> versions;
  for (const v1::ControlSummary& c : s.controls()) {
    for (const std::string& v : c.policy_versions()) {
      if (std::find(versions.begin(), versions.end(), v) == versions.end()) versions.push_back(v);
    }
  }
  for (const std::string& v : versions)
    StrAppend(&out, "<li>policy <code>", Esc(v), "</code></li>\n");
  for (const auto& [daemon, c] : ctx.checkpoints) {
    StrAppend(&out, "<li>", daemon.empty() ? "" : StrCat("<code>", Esc(daemon), "</code>: "),
              "signed checkpoint ", c.sequence(), " of ", Time(c.created_at()), ": ",
              c.heads_size(), " chain heads, Merkle root <code>", HexEncode(c.root()),
              "</code>, Ed25519 key <code>", Esc(c.key_id()),
              "</code> (<code>attestctl export</code> and <code>attestctl verify</code> check the "
              "evidence against it)</li>\n");
  }
  if (ctx.checkpoints.empty()) out += "<li>no signed checkpoint yet</li>\n";
  out += "</ul>\n</body></html>\n";
  return out;
}

}  // namespace attest::ctl
