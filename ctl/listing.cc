#include "ctl/listing.h"

#include <algorithm>
#include <cctype>

#include "common/strings.h"

namespace attest::ctl {

std::string CsvField(std::string_view v) {
  if (v.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

absl::StatusOr<std::vector<CsvRecord>> ParseCsv(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  std::vector<CsvRecord> out;
  size_t line = 1;
  size_t i = 0;
  while (i < text.size()) {
    CsvRecord record;
    record.line = line;
    std::string field;
    bool blank = true;  // nothing but a line break so far
    for (;;) {
      if (i < text.size() && text[i] == '"') {
        blank = false;
        const size_t opened = line;
        ++i;
        for (;;) {
          if (i >= text.size()) {
            return absl::InvalidArgumentError(
                StrCat("line ", opened, ": a quoted field never closes"));
          }
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (text[i] == '\n') ++line;
          field += text[i++];
        }
        if (i < text.size() && text[i] != ',' && text[i] != '\r' && text[i] != '\n') {
          return absl::InvalidArgumentError(
              StrCat("line ", line, ": text after the closing quote of a field"));
        }
      } else {
        while (i < text.size() && text[i] != ',' && text[i] != '\r' && text[i] != '\n') {
          if (text[i] == '"') {
            return absl::InvalidArgumentError(
                StrCat("line ", line, ": a quote inside an unquoted field"));
          }
          blank = false;
          field += text[i++];
        }
      }
      record.fields.push_back(std::move(field));
      field.clear();
      if (i < text.size() && text[i] == ',') {
        blank = false;
        ++i;
        continue;
      }
      if (i < text.size() && text[i] == '\r') ++i;
      if (i < text.size() && text[i] == '\n') ++i;
      ++line;
      break;
    }
    if (!blank) out.push_back(std::move(record));
  }
  return out;
}

std::string CellText(const Json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.as_string();
  if (v.is_object()) {
    std::string out;
    for (const auto& [k, x] : v.as_object())
      StrAppend(&out, out.empty() ? "" : ",", k, "=", CellText(x));
    return out;
  }
  if (v.is_array()) {
    std::string out;
    for (const Json& x : v.as_array()) StrAppend(&out, out.empty() ? "" : ",", CellText(x));
    return out;
  }
  return v.Canonical();
}

Listing::Listing(std::vector<std::string> columns) : columns_(std::move(columns)) {}

void Listing::Add(std::vector<Json> row) {
  row.resize(columns_.size());
  rows_.push_back(std::move(row));
}

std::string Listing::Render(std::string_view format) const {
  std::string out;
  if (format == "json") {
    Json all = Json::MakeArray();
    for (const auto& row : rows_) {
      Json o = Json::MakeObject();
      for (size_t i = 0; i < columns_.size(); ++i) o[columns_[i]] = row[i];
      all.push_back(std::move(o));
    }
    return all.Canonical() + "\n";
  }
  if (format == "csv") {
    for (size_t i = 0; i < columns_.size(); ++i)
      StrAppend(&out, i ? "," : "", CsvField(columns_[i]));
    out += "\r\n";
    for (const auto& row : rows_) {
      for (size_t i = 0; i < row.size(); ++i)
        StrAppend(&out, i ? "," : "", CsvField(CellText(row[i])));
      out += "\r\n";
    }
    return out;
  }
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> head;
  for (std::string c : columns_) {
    for (char& ch : c)
      ch = ch == '_' ? ' ' : static_cast<char>(toupper(static_cast<unsigned char>(ch)));
    head.push_back(std::move(c));
  }
  cells.push_back(std::move(head));
  for (const auto& row : rows_) {
    std::vector<std::string>& r = cells.emplace_back();
    for (const Json& v : row) {
      std::string t = CellText(v);
      std::replace(t.begin(), t.end(), '\n', ' ');
      r.push_back(t.empty() ? "-" : std::move(t));
    }
  }
  std::vector<size_t> width(columns_.size(), 0);
  for (const auto& r : cells) {
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : cells) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line.append(width[i] - r[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace attest::ctl
