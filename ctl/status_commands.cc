#include "ctl/status_commands.h"

#include <cstdio>

#include "common/clock.h"
#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/client.h"
#include "ctl/listing.h"
#include "ctl/report_format.h"

namespace attest::ctl {
namespace {

Json Time(const google::protobuf::Timestamp& t, bool set = true) {
  return set ? Json(FormatRfc3339(FromProto(t))) : Json(nullptr);
}

// "3d 4h", "2h 5m", "40s": how long ago `t` was at `now`.
std::string Age(const google::protobuf::Timestamp& t, const google::protobuf::Timestamp& now) {
  int64_t s = std::max<int64_t>(0, now.seconds() - t.seconds());
  if (s >= 86400) return StrCat(s / 86400, "d ", s % 86400 / 3600, "h");
  if (s >= 3600) return StrCat(s / 3600, "h ", s % 3600 / 60, "m");
  if (s >= 60) return StrCat(s / 60, "m");
  return StrCat(s, "s");
}

// The agent's clock against attestd's at its last hello, as `hosts show`
// prints it: "2h ahead of attestd's", or "within 1m of attestd's".
std::string ClockSkewText(int64_t skew_ms) {
  const absl::Duration skew = absl::Milliseconds(skew_ms);
  if (absl::AbsDuration(skew) <= kClockSkewTolerance) {
    return StrCat("within ", absl::FormatDuration(kClockSkewTolerance), " of attestd's");
  }
  return StrCat(FormatClockSkew(skew), skew > absl::ZeroDuration() ? " ahead of" : " behind",
                " attestd's");
}

Json Labels(const google::protobuf::Map<std::string, std::string>& labels) {
  Json o = Json::MakeObject();
  for (const auto& [k, v] : labels) o[k] = v;
  return o;
}

Json Strings(const google::protobuf::RepeatedPtrField<std::string>& v) {
  Json a = Json::MakeArray();
  for (const std::string& s : v) a.push_back(s);
  return a;
}

std::string Percent(double v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.2f%%", v * 100);
  return buf;
}

Listing ControlsNow(const v1::FleetStatus& s) {
  Listing l({"control", "tsc", "pass", "fail", "no_evidence", "excepted", "active_exceptions",
             "next_exception_expiry", "failing_hosts"});
  for (const v1::ControlNow& c : s.controls()) {
    l.Add({c.control(), Strings(c.tsc()), c.pass(), c.fail(), c.no_evidence(), c.excepted(),
           c.active_exceptions(), Time(c.next_exception_expiry(), c.has_next_exception_expiry()),
           Strings(c.failing_hosts())});
  }
  return l;
}

Listing OpenWindows(const v1::FleetStatus& s) {
  Listing l({"window", "control", "effectiveness", "coverage", "deviations", "verdict", "ends"});
  for (const v1::WindowSummary& w : s.open_windows()) {
    for (const v1::ControlSummary& c : w.controls()) {
      l.Add({w.window().id(), c.id(),
             c.has_effectiveness() ? Json(Percent(c.effectiveness())) : Json(nullptr),
             Percent(c.coverage()), c.deviation_count(), c.verdict(), Time(w.window().end())});
    }
  }
  return l;
}

Json StatusJson(const v1::FleetStatus& s) {
  Json o = Json::MakeObject();
  o["at"] = Time(s.at());
  o["policy_version"] = s.policy_version();
  Json hosts = Json::MakeObject();
  hosts["in_service"] = s.hosts_in_service();
  hosts["reporting"] = s.reporting();
  hosts["stale"] = s.stale();
  hosts["never_seen"] = s.never_seen();
  hosts["decommissioned"] = s.decommissioned();
  o["hosts"] = std::move(hosts);
  Json updates = Json::MakeObject();
  updates["hosts_pending"] = s.hosts_security_updates_pending();
  updates["oldest_pending_since"] =
      Time(s.oldest_pending_security_update(), s.has_oldest_pending_security_update());
  o["security_updates"] = std::move(updates);
  auto controls = Json::Parse(ControlsNow(s).Render("json"));
  o["controls"] = controls.ok() ? std::move(*controls) : Json::MakeArray();
  Json windows = Json::MakeArray();
  for (const v1::WindowSummary& w : s.open_windows()) {
    windows.push_back(SummaryJson(w));
  }
  o["open_windows"] = std::move(windows);
  if (s.has_latest_checkpoint()) {
    const v1::Checkpoint& c = s.latest_checkpoint();
    Json cj = Json::MakeObject();
    cj["sequence"] = c.sequence();
    cj["created_at"] = Time(c.created_at());
    cj["root"] = HexEncode(c.root());
    cj["key_id"] = c.key_id();
    cj["hosts"] = c.heads_size();
    o["latest_checkpoint"] = std::move(cj);
  } else {
    o["latest_checkpoint"] = nullptr;
  }
  Json witnesses = Json::MakeArray();
  for (const v1::WitnessStatus& w : s.witnesses()) {
    Json wj = Json::MakeObject();
    wj["name"] = w.name();
    wj["url"] = w.url();
    wj["cosigned_sequence"] = w.cosigned_sequence();
    wj["latest_sequence"] = w.latest_sequence();
    wj["behind"] = w.latest_sequence() - std::min(w.latest_sequence(), w.cosigned_sequence());
    wj["last_cosigned_at"] = Time(w.last_cosigned_at(), w.has_last_cosigned_at());
    wj["last_attempt"] = Time(w.last_attempt(), w.has_last_attempt());
    wj["last_error"] = w.last_error();
    witnesses.push_back(std::move(wj));
  }
  o["witnesses"] = std::move(witnesses);
  return o;
}

}  // namespace

int HostsList(Stub& admin, const CommandFlags& f) {
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(120));
  v1::ListHostsResponse resp;
  grpc::Status s = admin.ListHosts(&ctx, v1::ListHostsRequest(), &resp);
  if (!s.ok()) return Fail("hosts", s);
  Listing l(
      {"host", "agent_version", "first_seen", "last_seen", "records", "missing_signals", "labels"});
  for (const auto& h : resp.hosts()) {
    l.Add({h.host(), h.agent_version(), Time(h.first_seen()), Time(h.last_seen()), h.chain_length(),
           h.gap_signals(), Labels(h.labels())});
  }
  fputs(l.Render(f.format).c_str(), stdout);
  return kExitOk;
}

int HostsShow(Stub& admin, const std::string& host, const CommandFlags& f) {
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(120));
  v1::GetHostRequest req;
  req.set_host(host);
  v1::HostDetail d;
  grpc::Status s = admin.DescribeHost(&ctx, req, &d);
  if (!s.ok()) return Fail("hosts show", s);
  const v1::HostState& h = d.state();
  Listing controls({"control", "state", "since", "for", "cause"});
  for (const v1::HostControlNow& c : d.controls()) {
    controls.Add({c.control(), StateName(c.state()), Time(c.since(), c.has_since()),
                  c.has_since() ? Json(Age(c.since(), d.at())) : Json(nullptr), c.cause()});
  }
  Listing pending({"package", "first_seen", "pending_for"});
  for (const v1::PendingSince& u : d.pending_security_updates()) {
    pending.Add({u.package(), Time(u.first_seen()), Age(u.first_seen(), d.at())});
  }
  if (f.format == "csv") {  // a row per control
    Listing rows({"host", "control", "state", "since", "cause"});
    for (const v1::HostControlNow& c : d.controls()) {
      rows.Add(
          {h.host(), c.control(), StateName(c.state()), Time(c.since(), c.has_since()), c.cause()});
    }
    fputs(rows.Render("csv").c_str(), stdout);
    return kExitOk;
  }
  if (f.format == "json") {
    Json o = Json::MakeObject();
    o["host"] = h.host();
    o["status"] = d.status();
    o["labels"] = Labels(h.labels());
    o["agent_version"] = h.agent_version();
    o["instance_id"] = h.instance_id();
    o["boot_id"] = h.boot_id();
    o["clock_skew_ms"] = h.has_clock_read_at() ? Json(h.clock_skew_ms()) : Json(nullptr);
    o["clock_read_at"] = Time(h.clock_read_at(), h.has_clock_read_at());
    o["first_seen"] = Time(h.first_seen(), h.has_first_seen());
    o["last_seen"] = Time(h.last_seen(), h.has_last_seen());
    o["enrolled"] = Time(d.enrolled(), d.has_enrolled());
    o["last_evidence"] = Time(d.last_evidence(), d.has_last_evidence());
    o["decommissioned"] = Time(d.decommissioned(), d.has_decommissioned());
    o["records"] = h.chain_length();
    o["chain_head"] = HexEncode(h.chain_head());
    o["missing_signals"] = h.gap_signals();
    o["windows"] = Strings(d.windows());
    auto parse = [](const Listing& l) {
      auto j = Json::Parse(l.Render("json"));
      return j.ok() ? std::move(*j) : Json::MakeArray();
    };
    o["controls"] = parse(controls);
    o["pending_security_updates"] = parse(pending);
    Json xs = Json::MakeArray();
    for (const v1::Exception& x : d.active_exceptions()) xs.push_back(ExceptionJson(x));
    o["active_exceptions"] = std::move(xs);
    o["at"] = Time(d.at());
    printf("%s\n", o.Canonical().c_str());
    return kExitOk;
  }
  std::string labels = CellText(Labels(h.labels()));
  printf("host            %s\n", h.host().c_str());
  printf("status          %s%s\n", d.status().c_str(),
         d.has_last_evidence()
             ? StrCat(" (newest evidence observed ", FormatRfc3339(FromProto(d.last_evidence())),
                      ", ", Age(d.last_evidence(), d.at()), " ago)")
                   .c_str()
             : "");
  if (h.has_last_seen()) {
    printf("last received   %s\n", FormatRfc3339(FromProto(h.last_seen())).c_str());
  }
  printf("labels          %s\n", labels.empty() ? "-" : labels.c_str());
  printf("agent           %s (instance %s, boot %s)\n",
         h.agent_version().empty() ? "-" : h.agent_version().c_str(),
         h.instance_id().empty() ? "-" : h.instance_id().c_str(),
         h.boot_id().empty() ? "-" : h.boot_id().c_str());
  if (h.has_clock_read_at()) {
    printf("clock           %s (at its hello, %s)\n", ClockSkewText(h.clock_skew_ms()).c_str(),
           FormatRfc3339(FromProto(h.clock_read_at())).c_str());
  }
  if (d.has_enrolled())
    printf("enrolled        %s\n", FormatRfc3339(FromProto(d.enrolled())).c_str());
  if (d.has_decommissioned()) {
    printf("decommissioned  %s\n", FormatRfc3339(FromProto(d.decommissioned())).c_str());
  }
  printf("evidence        %llu records, %llu signals missing, head %s\n",
         static_cast<unsigned long long>(h.chain_length()),
         static_cast<unsigned long long>(h.gap_signals()),
         h.chain_head().empty() ? "-" : HexEncode(h.chain_head()).substr(0, 16).c_str());
  std::string windows = CellText(Strings(d.windows()));
  printf("open windows    %s\n\n", windows.empty() ? "-" : windows.c_str());
  fputs(controls.Render("table").c_str(), stdout);
  if (pending.size() > 0)
    printf("\nsecurity updates pending:\n%s", pending.Render("table").c_str());
  if (d.active_exceptions_size() > 0) {
    Listing xs({"exception", "control", "ends", "ticket", "reason"});
    for (const v1::Exception& x : d.active_exceptions()) {
      xs.Add(
          {x.id(), x.control(),
           Time(x.has_revoked_at() && x.revoked_at().seconds() < x.end().seconds() ? x.revoked_at()
                                                                                   : x.end()),
           x.ticket(), x.reason()});
    }
    printf("\nactive exceptions:\n%s", xs.Render("table").c_str());
  }
  return kExitOk;
}

int StatusCmd(Stub& admin, const CommandFlags& f) {
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(120));
  v1::GetStatusRequest req;
  v1::FleetStatus st;
  grpc::Status s = admin.GetStatus(&ctx, req, &st);
  if (!s.ok()) return Fail("status", s);
  if (f.format == "json") {
    printf("%s\n", StatusJson(st).Canonical().c_str());
    return kExitOk;
  }
  if (f.format == "csv") {  // a row per control
    fputs(ControlsNow(st).Render("csv").c_str(), stdout);
    return kExitOk;
  }
  printf("fleet at %s, policy %s\n", FormatRfc3339(FromProto(st.at())).c_str(),
         st.policy_version().empty() ? "(none loaded)" : st.policy_version().c_str());
  printf(
      "hosts           %u in service: %u reporting, %u stale (no evidence for 15m); "
      "%u never seen, %u decommissioned\n",
      st.hosts_in_service(), st.reporting(), st.stale(), st.never_seen(), st.decommissioned());
  if (st.hosts_security_updates_pending() > 0) {
    printf("security        updates pending on %u hosts, the oldest for %s\n",
           st.hosts_security_updates_pending(),
           Age(st.oldest_pending_security_update(), st.at()).c_str());
  } else {
    printf("security        no security update pending\n");
  }
  if (st.has_latest_checkpoint()) {
    const v1::Checkpoint& c = st.latest_checkpoint();
    printf("checkpoint      #%llu at %s over %d hosts, root %s, key %s\n",
           static_cast<unsigned long long>(c.sequence()),
           FormatRfc3339(FromProto(c.created_at())).c_str(), c.heads_size(),
           HexEncode(c.root()).substr(0, 16).c_str(), c.key_id().c_str());
  }
  for (const v1::WitnessStatus& w : st.witnesses()) {
    const uint64_t behind =
        w.latest_sequence() - std::min(w.latest_sequence(), w.cosigned_sequence());
    printf("witness         %s: %s%s%s\n", w.name().c_str(),
           w.cosigned_sequence() == 0
               ? "has cosigned nothing yet"
               : StrCat("cosigned #", w.cosigned_sequence(), " at ",
                        FormatRfc3339(FromProto(w.last_cosigned_at())),
                        behind == 0 ? "" : StrCat(", ", behind, " checkpoint(s) behind"))
                     .c_str(),
           w.last_error().empty() ? "" : "; last attempt failed: ", w.last_error().c_str());
  }
  printf("\n%s", ControlsNow(st).Render("table").c_str());
  if (st.open_windows_size() > 0)
    printf("\nopen windows so far:\n%s", OpenWindows(st).Render("table").c_str());
  return kExitOk;
}

}  // namespace attest::ctl
