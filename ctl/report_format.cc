#include "ctl/report_format.h"

#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/listing.h"
#include "daemon/evidence/record_json.h"

namespace attest::ctl {
namespace {

std::string Time(const google::protobuf::Timestamp& t) { return FormatRfc3339(FromProto(t)); }
std::string Unix(int64_t t) { return FormatRfc3339(absl::FromUnixSeconds(t)); }

Json Seconds(const v1::StateSeconds& s) {
  Json o = Json::MakeObject();
  o["pass"] = s.pass();
  o["fail"] = s.fail();
  o["no_evidence"] = s.no_evidence();
  o["excepted"] = s.excepted();
  return o;
}

Json Strings(const google::protobuf::RepeatedPtrField<std::string>& v) {
  Json a = Json::MakeArray();
  for (const auto& s : v) a.push_back(s);
  return a;
}

Json ControlJson(const v1::ControlSummary& c) {
  Json o = Json::MakeObject();
  o["id"] = c.id();
  o["title"] = c.title();
  o["tsc"] = Strings(c.tsc());
  o["effectiveness"] = c.has_effectiveness() ? Json(c.effectiveness()) : Json(nullptr);
  o["coverage"] = c.coverage();
  o["seconds"] = Seconds(c.seconds());
  o["in_scope_seconds"] = c.in_scope_seconds();
  o["hosts"] = c.hosts();
  Json devs = Json::MakeArray();
  for (const auto& d : c.deviations()) {
    Json dj = Json::MakeObject();
    dj["host"] = d.host();
    dj["start"] = Time(d.start());
    dj["end"] = Time(d.end());
    dj["cause"] = d.cause();
    dj["seconds"] = d.seconds();
    devs.push_back(std::move(dj));
  }
  o["deviations"] = std::move(devs);
  o["deviation_count"] = c.deviation_count();
  o["verdict"] = c.verdict();
  o["findings"] = Strings(c.findings());
  o["policy_versions"] = Strings(c.policy_versions());
  return o;
}

std::string Pct(const v1::ControlSummary& c, bool effectiveness) {
  if (effectiveness && !c.has_effectiveness()) return "n/a";
  char buf[32];
  snprintf(buf, sizeof buf, "%.3f%%", 100 * (effectiveness ? c.effectiveness() : c.coverage()));
  return buf;
}

void Table(std::string* out, const google::protobuf::RepeatedPtrField<v1::ControlSummary>& cs) {
  char line[512];
  snprintf(line, sizeof line, "%-18s %-14s %13s %10s %9s %9s %9s %9s %5s  %s\n", "CONTROL", "TSC",
           "EFFECTIVENESS", "COVERAGE", "PASS h", "FAIL h", "NO-EV h", "EXC h", "DEVS", "VERDICT");
  out->append(line);
  for (const auto& c : cs) {
    std::string tsc;
    for (const auto& t : c.tsc()) StrAppend(&tsc, tsc.empty() ? "" : ",", t);
    snprintf(line, sizeof line, "%-18s %-14s %13s %10s %9.1f %9.1f %9.1f %9.1f %5d  %s\n",
             c.id().c_str(), tsc.c_str(), Pct(c, true).c_str(), Pct(c, false).c_str(),
             c.seconds().pass() / 3600.0, c.seconds().fail() / 3600.0,
             c.seconds().no_evidence() / 3600.0, c.seconds().excepted() / 3600.0,
             c.deviations_size(), c.verdict().c_str());
    out->append(line);
  }
}

}  // namespace

const char* StateName(v1::ControlState state) {
  switch (state) {
    case v1::CONTROL_STATE_PASS:
      return "PASS";
    case v1::CONTROL_STATE_FAIL:
      return "FAIL";
    case v1::CONTROL_STATE_EXCEPTED:
      return "EXCEPTED";
    default:
      return "NO_EVIDENCE";
  }
}

Json SummaryJson(const v1::WindowSummary& s) {
  Json o = Json::MakeObject();
  o["window"] = s.window().id();
  o["window_start"] = Time(s.window().start());
  o["window_end"] = Time(s.window().end());
  o["computed_at"] = Time(s.computed_at());
  o["evaluated_until"] = Time(s.evaluated_until());
  Json controls = Json::MakeArray();
  for (const auto& c : s.controls()) controls.push_back(ControlJson(c));
  o["controls"] = std::move(controls);
  if (!s.group_by().empty()) {
    o["group_by"] = s.group_by();
    Json groups = Json::MakeArray();
    for (const auto& g : s.groups()) {
      Json gj = Json::MakeObject();
      gj["value"] = g.value();
      Json gc = Json::MakeArray();
      for (const auto& c : g.controls()) gc.push_back(ControlJson(c));
      gj["controls"] = std::move(gc);
      groups.push_back(std::move(gj));
    }
    o["groups"] = std::move(groups);
  }
  return o;
}

std::string SummaryTable(const v1::WindowSummary& s) {
  std::string out = StrCat("window ", s.window().id(), "  ", Time(s.window().start()), " .. ",
                           Time(s.window().end()), "  (evaluated until ", Time(s.evaluated_until()),
                           ", computed ", Time(s.computed_at()), ")\n\n");
  Table(&out, s.controls());
  for (const auto& c : s.controls()) {
    for (const auto& f : c.findings()) StrAppend(&out, "  ", c.id(), ": ", f, "\n");
  }
  for (const auto& g : s.groups()) {
    StrAppend(&out, "\n", s.group_by(), "=", g.value().empty() ? "(unset)" : g.value(), "\n");
    Table(&out, g.controls());
  }
  for (const auto& c : s.controls()) {
    if (c.deviations_size() == 0) continue;
    StrAppend(&out, "\ndeviations of ", c.id(), " (", c.deviations_size(), "):\n");
    int shown = 0;
    for (const auto& d : c.deviations()) {
      if (++shown > 20) {
        StrAppend(&out, "  ... ", c.deviations_size() - 20, " more (--format json lists all)\n");
        break;
      }
      char hours[32];
      snprintf(hours, sizeof hours, "%.1fh", d.seconds() / 3600.0);
      StrAppend(&out, "  ", d.host(), "  ", Time(d.start()), " .. ", Time(d.end()), "  ", hours,
                "  ", d.cause(), "\n");
    }
  }
  return out;
}

Json WindowJson(const v1::WindowDef& w) {
  Json o = Json::MakeObject();
  o["id"] = w.id();
  o["start"] = Time(w.start());
  o["end"] = Time(w.end());
  Json scope = Json::MakeObject();
  for (const auto& [k, v] : w.scope()) scope[k] = v;
  o["scope"] = std::move(scope);
  Json t = Json::MakeObject();
  t["effectiveness"] = w.thresholds().effectiveness();
  t["coverage"] = w.thresholds().coverage();
  t["max_deviation_seconds"] = w.thresholds().max_deviation_seconds();
  o["thresholds"] = std::move(t);
  o["origin"] = w.origin();
  return o;
}

Json ExceptionJson(const v1::Exception& x) {
  Json o = Json::MakeObject();
  o["id"] = x.id();
  o["control"] = x.control();
  o["host"] = x.host();
  Json sel = Json::MakeObject();
  for (const auto& [k, v] : x.selector()) sel[k] = v;
  o["selector"] = std::move(sel);
  o["reason"] = x.reason();
  o["approver"] = x.approver();
  o["ticket"] = x.ticket();
  o["start"] = Time(x.start());
  o["end"] = Time(x.end());
  o["recorded_at"] = Time(x.recorded_at());
  o["recorded_by"] = x.recorded_by();
  o["revoked_at"] = x.has_revoked_at() ? Json(Time(x.revoked_at())) : Json(nullptr);
  return o;
}

Json IntervalJson(const v1::Interval& iv) {
  Json o = Json::MakeObject();
  o["start"] = Unix(iv.start());
  o["end"] = Unix(iv.end());
  o["state"] = StateName(iv.state());
  o["cause"] = iv.cause();
  o["policy_version"] = iv.policy_version();
  return o;
}

Json SampleJson(const v1::SampleResponse& s) {
  Json o = Json::MakeObject();
  o["window"] = s.window();
  o["control"] = s.control();
  o["seed"] = s.seed();
  o["population"] = s.population();
  if (s.n() != 0) o["n"] = s.n();
  o["method"] = s.method();
  o["computed_at"] = Time(s.computed_at());
  Json items = Json::MakeArray();
  for (const auto& item : s.items()) {
    Json ij = Json::MakeObject();
    ij["host"] = item.host();
    ij["day"] = item.day();
    Json ivs = Json::MakeArray();
    for (const auto& iv : item.intervals()) ivs.push_back(IntervalJson(iv));
    ij["intervals"] = std::move(ivs);
    Json ev = Json::MakeArray();
    for (const auto& r : item.evidence()) {
      auto parsed = Json::Parse(evidence::CanonicalRecord(r, /*with_links=*/true));
      if (parsed.ok()) ev.push_back(std::move(*parsed));
    }
    ij["evidence"] = std::move(ev);
    items.push_back(std::move(ij));
  }
  o["items"] = std::move(items);
  return o;
}

Json SampleDrawJson(const v1::SampleDraw& d) {
  Json o = Json::MakeObject();
  o["window"] = d.window();
  o["control"] = d.control();
  o["n"] = d.n();
  o["seed"] = d.seed();
  o["population"] = d.population();
  o["method"] = d.method();
  o["drawn_at"] = Time(d.drawn_at());
  o["drawn_by"] = d.drawn_by();
  Json items = Json::MakeArray();
  for (const v1::SampleDrawItem& i : d.items()) {
    Json ij = Json::MakeObject();
    ij["host"] = i.host();
    ij["day"] = i.day();
    ij["seconds"] = Seconds(i.seconds());
    ij["evidence_records"] = i.evidence_records();
    items.push_back(std::move(ij));
  }
  o["items"] = std::move(items);
  return o;
}

namespace {

std::string JoinWith(const google::protobuf::RepeatedPtrField<std::string>& v,
                     std::string_view sep) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

void ControlRow(std::string* out, const v1::WindowSummary& s, std::string_view group,
                const v1::ControlSummary& c) {
  char eff[32] = "", cov[32];
  if (c.has_effectiveness()) snprintf(eff, sizeof eff, "%.6f", c.effectiveness());
  snprintf(cov, sizeof cov, "%.6f", c.coverage());
  const v1::StateSeconds& sec = c.seconds();
  StrAppend(out, CsvField(s.window().id()), ",", CsvField(group), ",", CsvField(c.id()), ",",
            CsvField(c.title()), ",", CsvField(JoinWith(c.tsc(), " ")), ",", eff, ",", cov, ",",
            sec.pass(), ",", sec.fail(), ",", sec.no_evidence(), ",", sec.excepted(), ",",
            c.hosts(), ",", c.deviations_size(), ",", CsvField(c.verdict()), ",",
            CsvField(JoinWith(c.findings(), "; ")), ",",
            CsvField(JoinWith(c.policy_versions(), " ")), "\r\n");
}

}  // namespace

std::string SummaryCsv(const v1::WindowSummary& s) {
  std::string out =
      "window,group,control,title,tsc,effectiveness,coverage,pass_seconds,fail_seconds,"
      "no_evidence_seconds,excepted_seconds,hosts,deviations,verdict,findings,policy_versions\r\n";
  for (const v1::ControlSummary& c : s.controls()) ControlRow(&out, s, "", c);
  for (const v1::GroupSummary& g : s.groups()) {
    for (const v1::ControlSummary& c : g.controls()) {
      ControlRow(&out, s, StrCat(s.group_by(), "=", g.value()), c);
    }
  }
  return out;
}

std::string DeviationsCsv(const v1::WindowSummary& s) {
  std::string out = "window,control,host,start,end,seconds,cause\r\n";
  for (const v1::ControlSummary& c : s.controls()) {
    for (const auto& d : c.deviations()) {
      StrAppend(&out, CsvField(s.window().id()), ",", CsvField(c.id()), ",", CsvField(d.host()),
                ",", Time(d.start()), ",", Time(d.end()), ",", d.seconds(), ",",
                CsvField(d.cause()), "\r\n");
    }
  }
  return out;
}

}  // namespace attest::ctl
