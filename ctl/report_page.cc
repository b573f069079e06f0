// attestctl report --format html|pdf: fetches what the page shows, writes
// it, and for PDF prints it with headless Chromium.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/strings.h"
#include "ctl/client.h"
#include "ctl/engine_commands.h"
#include "ctl/report_html.h"
#include "daemon/windows/verdict.h"

namespace attest::ctl {
namespace {

std::chrono::system_clock::time_point Soon() {
  return std::chrono::system_clock::now() + std::chrono::minutes(10);
}

// Chromium from Debian's package ($ATTEST_CHROMIUM overrides the path).
std::string FindChromium() {
  if (const char* env = getenv("ATTEST_CHROMIUM")) return access(env, X_OK) == 0 ? env : "";
  for (const char* p :
       {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "";
}

int PrintPdf(const std::string& html_path, const std::string& pdf_path) {
  const std::string chromium = FindChromium();
  if (chromium.empty()) {
    fprintf(stderr,
            "attestctl: report: PDF needs Chromium, which is not installed (Debian: apt install "
            "chromium). The same page is in HTML: --format html.\n");
    return kExitFindings;
  }
  const std::string url = "file://" + std::filesystem::absolute(html_path).string();
  const std::string out = "--print-to-pdf=" + std::filesystem::absolute(pdf_path).string();
  pid_t pid = fork();
  if (pid == 0) {
    // Chromium talks a lot on stderr; keep the user's terminal for errors.
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execl(chromium.c_str(), chromium.c_str(), "--headless", "--no-sandbox", "--disable-gpu",
          "--no-pdf-header-footer", out.c_str(), url.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
      !std::filesystem::exists(pdf_path) || std::filesystem::file_size(pdf_path) == 0) {
    fprintf(stderr, "attestctl: report: %s could not print %s\n", chromium.c_str(),
            html_path.c_str());
    return kExitFindings;
  }
  return kExitOk;
}

// What the page shows from one daemon: its daily summary, exceptions,
// approvals, samples and latest checkpoint (under `name`, "" for one).
int FetchPage(Stub& admin, const std::string& name, const CommandFlags& f,
              v1::WindowSummary* summary, ReportContext* ctx) {
  const std::string what = name.empty() ? "report" : StrCat("report from ", name);
  {
    grpc::ClientContext c;
    c.set_deadline(Soon());
    v1::SummarizeRequest req;
    req.set_window(f.window);
    req.set_group_by(f.group_by);
    req.set_daily(true);
    if (grpc::Status s = admin.Summarize(&c, req, summary); !s.ok()) return Fail(what.c_str(), s);
  }
  {
    grpc::ClientContext c;
    c.set_deadline(Soon());
    v1::ListExceptionsResponse resp;
    if (grpc::Status s = admin.ListExceptions(&c, {}, &resp); !s.ok()) {
      return Fail(what.c_str(), s);
    }
    ctx->exceptions.insert(ctx->exceptions.end(), resp.exceptions().begin(),
                           resp.exceptions().end());
  }
  {
    grpc::ClientContext c;
    c.set_deadline(Soon());
    v1::ListApprovalsResponse resp;
    if (grpc::Status s = admin.ListApprovals(&c, {}, &resp); !s.ok()) return Fail(what.c_str(), s);
    ctx->approvals.insert(ctx->approvals.end(), resp.approvals().begin(), resp.approvals().end());
  }
  {
    auto latest = FetchCheckpoint(admin, 0, Soon());
    if (latest.ok()) {
      ctx->checkpoints.emplace_back(name, std::move(*latest));
    } else if (!absl::IsNotFound(latest.status())) {
      return Fail(what.c_str(), grpc::Status(static_cast<grpc::StatusCode>(latest.status().code()),
                                             std::string(latest.status().message())));
    }
  }
  {
    grpc::ClientContext c;
    c.set_deadline(Soon());
    v1::ListSamplesRequest req;
    req.set_window(f.window);
    v1::ListSamplesResponse resp;
    if (grpc::Status s = admin.ListSamples(&c, req, &resp); !s.ok()) return Fail(what.c_str(), s);
    ctx->samples.insert(ctx->samples.end(), resp.draws().begin(), resp.draws().end());
  }
  {
    grpc::ClientContext c;
    c.set_deadline(Soon());
    v1::ListReviewsResponse resp;
    if (grpc::Status s = admin.ListReviews(&c, {}, &resp); !s.ok()) return Fail(what.c_str(), s);
    for (const v1::ReviewStatus& st : resp.reviews()) {
      if (st.campaign().window() != f.window) continue;
      grpc::ClientContext g;
      g.set_deadline(Soon());
      v1::GetReviewRequest req;
      req.set_id(st.campaign().id());
      v1::ReviewDetail detail;
      if (grpc::Status s = admin.GetReview(&g, req, &detail); !s.ok()) {
        return Fail(what.c_str(), s);
      }
      ctx->reviews.push_back(std::move(detail));
    }
  }
  return kExitOk;
}

}  // namespace

int PageReport(const std::vector<Stub*>& daemons, const std::vector<std::string>& names,
               const CommandFlags& f) {
  if (f.out.empty()) return Usage(StrCat("report --format ", f.format, " needs --out FILE"));
  std::vector<v1::WindowSummary> summaries(daemons.size());
  ReportContext ctx;
  for (size_t i = 0; i < daemons.size(); ++i) {
    const std::string name = daemons.size() > 1 ? names[i] : "";
    if (int rc = FetchPage(*daemons[i], name, f, &summaries[i], &ctx); rc != kExitOk) return rc;
  }
  v1::WindowSummary summary = summaries[0];
  if (daemons.size() > 1) {
    auto merged = windows::MergeShardSummaries(summaries);
    if (!merged.ok()) {
      fprintf(stderr, "attestctl: report: %s\n", std::string(merged.status().message()).c_str());
      return kExitFindings;
    }
    summary = std::move(*merged);
  }
  const std::string html = SummaryHtml(summary, ctx);
  const std::string html_path = f.format == "html" ? f.out : f.out + ".html";
  std::ofstream(html_path, std::ios::binary) << html;
  if (!std::filesystem::exists(html_path)) return Usage("report: cannot write " + html_path);
  if (f.format == "pdf") {
    const int rc = PrintPdf(html_path, f.out);
    std::filesystem::remove(html_path);
    if (rc != kExitOk) return rc;
  }
  printf("wrote %s\n", f.out.c_str());
  return kExitOk;
}

}  // namespace attest::ctl
