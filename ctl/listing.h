// What attestctl's list commands print: rows of named columns as an aligned
// table (people), RFC 4180 CSV (spreadsheets) or a JSON array of objects
// (scripts; the column names are the keys and nested values stay nested).
#ifndef ATTEST_CTL_LISTING_H_
#define ATTEST_CTL_LISTING_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/json.h"

namespace attest::ctl {

// A CSV field, quoted when it holds a comma, quote or line break.
std::string CsvField(std::string_view v);

// One record of a CSV file and the line it starts on (from 1).
struct CsvRecord {
  size_t line = 0;
  std::vector<std::string> fields;
};

// Parses RFC 4180 CSV as spreadsheets write it: fields quoted or not, ""
// inside quotes, line breaks inside quotes, CRLF or LF; a UTF-8 byte order
// mark is skipped and blank lines are left out. InvalidArgument
// "line N: why" for a quote that never closes or text after a closing one.
absl::StatusOr<std::vector<CsvRecord>> ParseCsv(std::string_view text);

class Listing {
 public:
  // Column keys in lower_snake_case; the table heads them in upper case.
  explicit Listing(std::vector<std::string> columns);

  // One value per column: strings, numbers, booleans, null (printed empty
  // in tables and CSV), objects (printed k=v,k=v) or arrays (a,b).
  void Add(std::vector<Json> row);
  size_t size() const { return rows_.size(); }

  // format: "table", "csv" or "json".
  std::string Render(std::string_view format) const;

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<Json>> rows_;
};

// The text a table or CSV cell shows for `v`.
std::string CellText(const Json& v);

}  // namespace attest::ctl

#endif  // ATTEST_CTL_LISTING_H_
