#include "ctl/review_commands.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "common/utf8.h"
#include "ctl/client.h"
#include "ctl/listing.h"

namespace attest::ctl {
namespace {

// The columns review export writes; decide reads campaign, entry, decision,
// reviewer, reason and decided_at, and ignores the rest.
const std::vector<std::string> kExportColumns = {"campaign", "entry",    "kind",   "user",
                                                 "detail",   "note",     "hosts",  "host_count",
                                                 "decision", "reviewer", "reason", "decided_at"};

std::string Rfc3339(const google::protobuf::Timestamp& t) { return FormatRfc3339(FromProto(t)); }

Json OptionalTime(bool has, const google::protobuf::Timestamp& t) {
  return has ? Json(Rfc3339(t)) : Json();
}

std::string OutcomeName(v1::ReviewOutcome o) {
  return o == v1::REVIEW_OUTCOME_KEEP ? "keep" : o == v1::REVIEW_OUTCOME_REVOKE ? "revoke" : "";
}

Json StatusJson(const v1::ReviewStatus& st) {
  const v1::ReviewCampaign& c = st.campaign();
  Json j = Json::MakeObject();
  j["campaign"] = Json(c.id());
  j["window"] = Json(c.window());
  j["started_at"] = Json(Rfc3339(c.started_at()));
  j["due"] = Json(Rfc3339(c.due()));
  j["hosts"] = Json(static_cast<int64_t>(c.hosts()));
  j["hosts_without_snapshot"] = Json(static_cast<int64_t>(c.hosts_without_snapshot()));
  j["entries"] = Json(static_cast<int64_t>(c.entries()));
  j["decided"] = Json(static_cast<int64_t>(st.decided()));
  j["open"] = Json(static_cast<int64_t>(st.open()));
  j["overdue"] = Json(st.overdue());
  j["completed_at"] = OptionalTime(st.has_completed_at(), st.completed_at());
  j["kept"] = Json(static_cast<int64_t>(st.kept()));
  j["revoked"] = Json(static_cast<int64_t>(st.revoked()));
  j["revocations"] = Json(static_cast<int64_t>(st.revocations()));
  j["revocations_confirmed"] = Json(static_cast<int64_t>(st.revocations_confirmed()));
  j["revocations_late"] = Json(static_cast<int64_t>(st.revocations_late()));
  return j;
}

// "confirmed", "confirmed late", "open" (before the deadline) or "overdue".
std::string RevocationWord(const v1::RevocationState& r, const google::protobuf::Timestamp& now) {
  if (r.has_confirmed_at()) {
    return r.confirmed_at().seconds() >= r.deadline().seconds() ? "confirmed late" : "confirmed";
  }
  return now.seconds() >= r.deadline().seconds() ? "overdue" : "open";
}

absl::StatusOr<v1::ReviewDetail> FetchReview(Stub& admin, const std::string& id,
                                             grpc::Status* failed) {
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(120));
  v1::GetReviewRequest req;
  req.set_id(id);
  v1::ReviewDetail detail;
  *failed = admin.GetReview(&ctx, req, &detail);
  if (!failed->ok()) return absl::UnknownError("GetReview failed");
  return detail;
}

}  // namespace

int ReviewStart(Stub& admin, const CommandFlags& f) {
  if (f.id.empty() || f.window.empty() || f.due.empty()) {
    return Usage(
        "review start: --id ID --window W --due T [--selector k=v ...] [--reviewer R ...] are "
        "required");
  }
  v1::StartReviewRequest req;
  req.set_id(f.id);
  req.set_window(f.window);
  if (!TimeFlag("due", f.due, req.mutable_due())) return kExitUsage;
  if (!SelectorFlags(f.selector, req.mutable_selector())) return kExitUsage;
  for (const std::string& r : f.reviewers) req.add_reviewers(r);
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(300));
  v1::ReviewCampaign c;
  grpc::Status s = admin.StartReview(&ctx, req, &c);
  if (!s.ok()) return Fail("review start", s);
  printf(
      "campaign %s started %s, due %s: %u hosts (%u without an access snapshot), %llu entries "
      "to decide\npopulation sha256 %s\n",
      c.id().c_str(), Rfc3339(c.started_at()).c_str(), Rfc3339(c.due()).c_str(), c.hosts(),
      c.hosts_without_snapshot(), static_cast<unsigned long long>(c.entries()),
      c.population_sha256().c_str());
  return kExitOk;
}

absl::StatusOr<std::vector<FileDecision>> ParseDecisionCsv(std::string_view text,
                                                           const std::string& campaign,
                                                           const std::string& reviewer) {
  if (!IsValidUtf8(text)) return absl::InvalidArgumentError("the file is not valid UTF-8");
  auto records = ParseCsv(text);
  if (!records.ok()) return records.status();
  if (records->empty()) return absl::InvalidArgumentError("the file is empty");
  std::map<std::string, size_t> column;
  const CsvRecord& header = records->front();
  for (size_t i = 0; i < header.fields.size(); ++i) {
    column[std::string(TrimWhitespace(header.fields[i]))] = i;
  }
  for (const char* need : {"campaign", "entry", "decision"}) {
    if (!column.count(need)) {
      return absl::InvalidArgumentError(StrCat("line ", header.line, ": no \"", need,
                                               "\" column (write the file with review export)"));
    }
  }
  std::vector<FileDecision> out;
  for (size_t r = 1; r < records->size(); ++r) {
    const CsvRecord& rec = (*records)[r];
    auto field = [&](const char* name) -> std::string {
      auto it = column.find(name);
      if (it == column.end() || it->second >= rec.fields.size()) return "";
      return std::string(TrimWhitespace(rec.fields[it->second]));
    };
    if (rec.fields.size() != header.fields.size()) {
      return absl::InvalidArgumentError(StrCat("line ", rec.line, ": ", rec.fields.size(),
                                               " fields where the header has ",
                                               header.fields.size()));
    }
    if (!field("decided_at").empty()) continue;  // decided already
    std::string decision = AsciiLower(field("decision"));
    if (decision.empty()) continue;  // left for later
    FileDecision& d = out.emplace_back();
    d.line = rec.line;
    v1::ReviewDecision& x = d.decision;
    if (decision == "keep") {
      x.set_outcome(v1::REVIEW_OUTCOME_KEEP);
    } else if (decision == "revoke") {
      x.set_outcome(v1::REVIEW_OUTCOME_REVOKE);
    } else {
      return absl::InvalidArgumentError(StrCat("line ", rec.line, ": decision \"",
                                               field("decision"), "\" is not keep or revoke"));
    }
    x.set_campaign(field("campaign"));
    if (!campaign.empty() && x.campaign() != campaign) {
      return absl::InvalidArgumentError(StrCat("line ", rec.line, ": campaign \"", x.campaign(),
                                               "\" is not --campaign ", campaign));
    }
    x.set_entry(field("entry"));
    if (x.entry().empty())
      return absl::InvalidArgumentError(StrCat("line ", rec.line, ": no entry"));
    x.set_reviewer(field("reviewer").empty() ? reviewer : field("reviewer"));
    if (x.reviewer().empty()) {
      return absl::InvalidArgumentError(
          StrCat("line ", rec.line, ": no reviewer (fill the column or give --reviewer)"));
    }
    x.set_reason(field("reason"));
  }
  return out;
}

int ReviewDecide(Stub& admin, const CommandFlags& f) {
  const std::string reviewer = f.reviewers.empty() ? "" : f.reviewers.front();
  if (f.reviewers.size() > 1) return Usage("review decide: one --reviewer");
  std::vector<FileDecision> decisions;
  if (!f.from_file.empty()) {
    if (!f.entry.empty() || f.keep || f.revoke) {
      return Usage("review decide: --from-file, or --entry with --keep or --revoke, not both");
    }
    std::ifstream in(f.from_file, std::ios::binary);
    if (!in) return Usage(StrCat("review decide: cannot open ", f.from_file));
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = ParseDecisionCsv(text.str(), f.campaign, reviewer);
    if (!parsed.ok()) {
      return Usage(StrCat("review decide: ", f.from_file, ": ", parsed.status().message(),
                          "; nothing was recorded"));
    }
    decisions = std::move(*parsed);
    if (decisions.empty()) {
      printf("no decisions in %s (rows without one are left open)\n", f.from_file.c_str());
      return kExitOk;
    }
  } else {
    if (f.campaign.empty() || f.entry.empty() || f.keep == f.revoke || reviewer.empty()) {
      return Usage(
          "review decide: --campaign C --entry E (--keep | --revoke) --reviewer R [--reason T], "
          "or --campaign C --from-file F.csv");
    }
    v1::ReviewDecision& x = decisions.emplace_back().decision;
    x.set_campaign(f.campaign);
    x.set_entry(f.entry);
    x.set_outcome(f.keep ? v1::REVIEW_OUTCOME_KEEP : v1::REVIEW_OUTCOME_REVOKE);
    x.set_reviewer(reviewer);
    x.set_reason(f.reason);
  }
  v1::DecideReviewRequest req;
  for (const FileDecision& d : decisions) *req.add_decisions() = d.decision;
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(300));
  v1::DecideReviewResponse resp;
  grpc::Status s = admin.DecideReview(&ctx, req, &resp);
  if (!s.ok()) {
    // "decision N: why" names the file's line for the person who filled it.
    std::string msg = s.error_message();
    size_t n = 0;
    if (!f.from_file.empty() && msg.starts_with("decision ") &&
        sscanf(msg.c_str(), "decision %zu:", &n) == 1 && n >= 1 && n <= decisions.size()) {
      msg = StrCat(f.from_file, ":", decisions[n - 1].line, msg.substr(msg.find(':')),
                   "; nothing was recorded");
      return Fail("review decide", grpc::Status(s.error_code(), msg));
    }
    return Fail("review decide", s);
  }
  size_t kept = 0, revoked = 0;
  for (const v1::ReviewDecision& d : resp.decisions()) {
    (d.outcome() == v1::REVIEW_OUTCOME_KEEP ? kept : revoked)++;
  }
  printf("recorded %d decisions (%zu keep, %zu revoke) at %s\n", resp.decisions_size(), kept,
         revoked, resp.decisions().empty() ? "" : Rfc3339(resp.decisions(0).decided_at()).c_str());
  return kExitOk;
}

int ReviewExport(Stub& admin, const CommandFlags& f) {
  if (f.campaign.empty()) return Usage("review export: --campaign C [--out F.csv] is required");
  grpc::Status failed;
  auto detail = FetchReview(admin, f.campaign, &failed);
  if (!detail.ok()) return Fail("review export", failed);
  std::map<std::string, const v1::ReviewDecision*> decided;
  for (const v1::ReviewDecision& d : detail->decisions()) decided[d.entry()] = &d;
  Listing l(kExportColumns);
  for (const v1::ReviewEntry& e : detail->entries()) {
    std::string hosts;
    for (const std::string& h : e.hosts()) StrAppend(&hosts, hosts.empty() ? "" : " ", h);
    auto d = decided.find(e.id());
    const v1::ReviewDecision* x = d == decided.end() ? nullptr : d->second;
    l.Add({f.campaign, e.id(), e.kind(), e.user(), e.detail(), e.note(), hosts, e.hosts_size(),
           x ? Json(OutcomeName(x->outcome())) : Json(""), x ? Json(x->reviewer()) : Json(""),
           x ? Json(x->reason()) : Json(""), x ? Json(Rfc3339(x->decided_at())) : Json("")});
  }
  const std::string csv = l.Render("csv");
  if (f.out.empty()) {
    fputs(csv.c_str(), stdout);
    return kExitOk;
  }
  std::ofstream out(f.out, std::ios::binary | std::ios::trunc);
  out << csv;
  out.close();
  if (!out) return Usage(StrCat("review export: cannot write ", f.out));
  fprintf(stderr, "wrote %zu entries of campaign %s to %s\n", l.size(), f.campaign.c_str(),
          f.out.c_str());
  return kExitOk;
}

int ReviewStatusCmd(Stub& admin, const CommandFlags& f) {
  if (!f.campaign.empty()) {
    grpc::Status failed;
    auto detail = FetchReview(admin, f.campaign, &failed);
    if (!detail.ok()) return Fail("review status", failed);
    const google::protobuf::Timestamp now = ToProto(absl::Now());
    std::map<std::string, const v1::ReviewEntry*> entries;
    for (const v1::ReviewEntry& e : detail->entries()) entries[e.id()] = &e;
    if (f.format == "json") {
      Json j = StatusJson(detail->status());
      Json revocations = Json::MakeArray();
      for (const v1::RevocationState& r : detail->revocations()) {
        Json x = Json::MakeObject();
        x["entry"] = Json(r.entry());
        x["host"] = Json(r.host());
        x["decided_at"] = Json(Rfc3339(r.decided_at()));
        x["deadline"] = Json(Rfc3339(r.deadline()));
        x["confirmed_at"] = OptionalTime(r.has_confirmed_at(), r.confirmed_at());
        x["confirmed_by_index"] =
            r.has_confirmed_at() ? Json(static_cast<int64_t>(r.confirmed_by_index())) : Json();
        x["state"] = Json(RevocationWord(r, now));
        revocations.push_back(std::move(x));
      }
      j["revocations_by_host"] = std::move(revocations);
      printf("%s\n", j.Canonical().c_str());
      return kExitOk;
    }
    Listing l({"entry", "what", "host", "decided_at", "deadline", "confirmed_at", "state"});
    for (const v1::RevocationState& r : detail->revocations()) {
      const v1::ReviewEntry* e = entries.count(r.entry()) ? entries[r.entry()] : nullptr;
      l.Add({r.entry(), e ? StrCat(e->kind(), " ", e->user(), " ", e->detail()) : "", r.host(),
             Rfc3339(r.decided_at()), Rfc3339(r.deadline()),
             OptionalTime(r.has_confirmed_at(), r.confirmed_at()), RevocationWord(r, now)});
    }
    if (f.format == "table") {
      const v1::ReviewStatus& st = detail->status();
      printf(
          "campaign %s (window %s): %llu of %llu entries decided, %llu open%s; due %s%s\n",
          st.campaign().id().c_str(), st.campaign().window().c_str(),
          static_cast<unsigned long long>(st.decided()),
          static_cast<unsigned long long>(st.campaign().entries()),
          static_cast<unsigned long long>(st.open()), st.overdue() ? " (OVERDUE)" : "",
          Rfc3339(st.campaign().due()).c_str(),
          st.has_completed_at() ? StrCat(", completed ", Rfc3339(st.completed_at())).c_str() : "");
      printf("revocations: %llu on hosts, %llu confirmed removed, %llu late\n",
             static_cast<unsigned long long>(st.revocations()),
             static_cast<unsigned long long>(st.revocations_confirmed()),
             static_cast<unsigned long long>(st.revocations_late()));
    }
    fputs(l.Render(f.format).c_str(), stdout);
    return kExitOk;
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(60));
  v1::ListReviewsResponse resp;
  grpc::Status s = admin.ListReviews(&ctx, v1::ListReviewsRequest(), &resp);
  if (!s.ok()) return Fail("review status", s);
  if (f.format == "json") {
    Json out = Json::MakeArray();
    for (const v1::ReviewStatus& st : resp.reviews()) out.push_back(StatusJson(st));
    printf("%s\n", out.Canonical().c_str());
    return kExitOk;
  }
  Listing l({"campaign", "window", "started_at", "due", "hosts", "entries", "decided", "open",
             "overdue", "completed_at", "revoked", "revocations_confirmed", "revocations_late"});
  for (const v1::ReviewStatus& st : resp.reviews()) {
    const Json j = StatusJson(st);
    std::vector<Json> row;
    for (const char* k :
         {"campaign", "window", "started_at", "due", "hosts", "entries", "decided", "open",
          "overdue", "completed_at", "revoked", "revocations_confirmed", "revocations_late"}) {
      row.push_back(*j.Find(k));
    }
    l.Add(std::move(row));
  }
  fputs(l.Render(f.format).c_str(), stdout);
  return kExitOk;
}

}  // namespace attest::ctl
