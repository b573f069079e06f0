// attestctl's auditor reads: a reproducible sample of host-days (recorded
// by attestd), the samples drawn so far, and one host's timeline.
#include <cmath>
#include <cstdio>
#include <map>

#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/client.h"
#include "ctl/engine_commands.h"
#include "ctl/listing.h"
#include "ctl/report_format.h"

namespace attest::ctl {
namespace {

void PrintJson(const Json& j) { printf("%s\n", j.Canonical().c_str()); }

}  // namespace

int SampleCmd(Stub& admin, const CommandFlags& f) {
  if (f.window.empty() || f.control.empty()) {
    return Usage("sample: --window ID --control C [--n N] [--seed S] are required");
  }
  if (f.n_given && (f.n < 1 || f.n > UINT32_MAX)) {
    return Usage(
        "sample: --n must be from 1 to 4294967295 (leave it out for the audit guidance size)");
  }
  v1::SampleRequest req;
  req.set_window(f.window);
  req.set_control(f.control);
  req.set_n(f.n_given ? static_cast<uint32_t>(f.n) : 0);  // 0: the guidance size
  req.set_seed(static_cast<uint64_t>(f.seed));
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(300));
  v1::SampleResponse resp;
  grpc::Status s = admin.Sample(&ctx, req, &resp);
  if (!s.ok()) return Fail("sample", s);
  if (f.format == "json") {
    PrintJson(SampleJson(resp));
    return kExitOk;
  }
  Listing l({"host", "day", "pass_hours", "fail_hours", "excepted_hours", "no_evidence_hours",
             "evidence_records"});
  for (const auto& item : resp.items()) {
    std::map<v1::ControlState, int64_t> secs;
    for (const auto& iv : item.intervals()) secs[iv.state()] += iv.end() - iv.start();
    auto hours = [&](v1::ControlState st) {  // to 0.01h
      return Json(std::round(static_cast<double>(secs[st]) / 36.0) / 100.0);
    };
    l.Add({item.host(), item.day(), hours(v1::CONTROL_STATE_PASS), hours(v1::CONTROL_STATE_FAIL),
           hours(v1::CONTROL_STATE_EXCEPTED), hours(v1::CONTROL_STATE_NO_EVIDENCE),
           item.evidence_size()});
  }
  if (f.format == "table") {
    printf("sample of %d from %llu in-scope host-days (window %s, control %s, seed %llu%s)\n",
           resp.items_size(), static_cast<unsigned long long>(resp.population()),
           resp.window().c_str(), resp.control().c_str(),
           static_cast<unsigned long long>(resp.seed()),
           f.n_given ? "" : ", the audit guidance size for the population");
  }
  fputs(l.Render(f.format).c_str(), stdout);
  return kExitOk;
}

int SamplesCmd(Stub& admin, const CommandFlags& f) {
  v1::ListSamplesRequest req;
  req.set_window(f.window);
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(300));
  v1::ListSamplesResponse resp;
  grpc::Status s = admin.ListSamples(&ctx, req, &resp);
  if (!s.ok()) return Fail("samples", s);
  if (f.format == "json") {
    Json out = Json::MakeArray();
    for (const v1::SampleDraw& d : resp.draws()) out.push_back(SampleDrawJson(d));
    PrintJson(out);
    return kExitOk;
  }
  Listing l({"window", "control", "drawn_at", "drawn_by", "seed", "n", "population", "items"});
  for (const v1::SampleDraw& d : resp.draws()) {
    Json items = Json::MakeArray();
    for (const v1::SampleDrawItem& i : d.items()) items.push_back(StrCat(i.host(), "/", i.day()));
    l.Add({d.window(), d.control(), FormatRfc3339(FromProto(d.drawn_at())), d.drawn_by(), d.seed(),
           d.n(), d.population(), std::move(items)});
  }
  fputs(l.Render(f.format).c_str(), stdout);
  return kExitOk;
}

int TimelineCmd(Stub& admin, const CommandFlags& f) {
  if (f.host.empty() || f.control.empty()) return Usage("timeline: --host H --control C required");
  v1::TimelineRequest req;
  req.set_host(f.host);
  req.set_control(f.control);
  if (!f.start.empty() && !TimeFlag("start", f.start, req.mutable_from())) return kExitUsage;
  if (!f.end.empty() && !TimeFlag("end", f.end, req.mutable_to())) return kExitUsage;
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(300));
  v1::TimelineResponse resp;
  grpc::Status s = admin.GetTimeline(&ctx, req, &resp);
  if (!s.ok()) return Fail("timeline", s);
  Json out = Json::MakeArray();
  for (const auto& iv : resp.intervals()) out.push_back(IntervalJson(iv));
  if (f.format == "json") {
    PrintJson(out);
    return kExitOk;
  }
  Listing l({"start", "end", "state", "cause", "policy_version"});
  for (const auto& iv : resp.intervals()) {
    l.Add({FormatRfc3339(absl::FromUnixSeconds(iv.start())),
           FormatRfc3339(absl::FromUnixSeconds(iv.end())), StateName(iv.state()), iv.cause(),
           iv.policy_version()});
  }
  fputs(l.Render(f.format).c_str(), stdout);
  return kExitOk;
}

}  // namespace attest::ctl
