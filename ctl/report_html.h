// The period-coverage report as one self-contained HTML page (inline CSS
// and SVG, no script, nothing fetched): the summary per control, a
// control x week heatmap, the deviations, the exceptions and approvals the
// figures rely on, the access review campaigns (population, decisions,
// revocations and their confirmation per host), the breakdown per host
// group, the samples drawn, the
// policy versions and the signed checkpoint the evidence rests on. attestctl prints it to PDF
// through headless Chromium.
#ifndef ATTEST_CTL_REPORT_HTML_H_
#define ATTEST_CTL_REPORT_HTML_H_

#include <optional>
#include <string>
#include <vector>

#include "attest/v1/admin.pb.h"

namespace attest::ctl {

struct ReportContext {
  std::vector<v1::Exception> exceptions;  // all; the page lists those overlapping the window
  std::vector<v1::Approval> approvals;    // all; the page lists those given in the window
  // The latest signed checkpoint of each daemon the figures come from
  // (one, or one per shard), with the daemon's address when several.
  std::vector<std::pair<std::string, v1::Checkpoint>> checkpoints;
  std::vector<v1::SampleDraw> samples;    // the window's recorded draws (the appendix)
  std::vector<v1::ReviewDetail> reviews;  // the window's access review campaigns
};

// `summary` must come from a daily summary (SummarizeRequest.daily) for the
// heatmap. Every figure of the summary table carries data-control and
// data-figure attributes, so tests can read them back from the DOM.
std::string SummaryHtml(const v1::WindowSummary& summary, const ReportContext& context);

// The figure text the page shows for a fraction (e.g. "99.853%").
std::string PercentText(double fraction);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_REPORT_HTML_H_
