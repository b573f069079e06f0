// attestctl: the command line for ops, SREs and compliance staff.
#include <cstdio>
#include <string>
#include <vector>

#include "attest/v1/admin.grpc.pb.h"
#include "common/flags.h"
#include "common/json.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "ctl/client.h"
#include "daemon/evidence/chain.h"
#include "daemon/evidence/record_json.h"

namespace attest::ctl {
namespace {

constexpr char kCommands[] =
    "COMMAND [flags]\n\n"
    "Commands:\n"
    "  hosts                 list the hosts attestd has heard from\n"
    "  evidence HOST         print HOST's evidence chain as JSON Lines\n\n"
    "Exit codes: 0 ok, 1 findings or a refused request, 2 usage, 3 daemon unreachable.";

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(60);
}

int Hosts(v1::AdminService::Stub& admin, const std::string& format) {
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline());
  v1::ListHostsResponse resp;
  grpc::Status s = admin.ListHosts(&ctx, v1::ListHostsRequest(), &resp);
  if (!s.ok()) {
    fprintf(stderr, "attestctl: hosts: %s\n", s.error_message().c_str());
    return ExitCodeFor(s);
  }
  if (format == "json") {
    Json hosts = Json::MakeArray();
    for (const auto& h : resp.hosts()) {
      Json o = Json::MakeObject();
      o["host"] = h.host();
      o["agent_version"] = h.agent_version();
      o["first_seen"] = FormatRfc3339(FromProto(h.first_seen()));
      o["last_seen"] = FormatRfc3339(FromProto(h.last_seen()));
      o["records"] = h.chain_length();
      o["missing_signals"] = h.gap_signals();
      Json labels = Json::MakeObject();
      for (const auto& [k, v] : h.labels()) labels[k] = v;
      o["labels"] = std::move(labels);
      hosts.push_back(std::move(o));
    }
    printf("%s\n", hosts.Canonical().c_str());
    return kExitOk;
  }
  printf("%-28s %-10s %-22s %10s %8s  %s\n", "HOST", "AGENT", "LAST SEEN", "RECORDS", "MISSING",
         "LABELS");
  for (const auto& h : resp.hosts()) {
    std::string labels;
    for (const auto& [k, v] : h.labels()) StrAppend(&labels, labels.empty() ? "" : ",", k, "=", v);
    printf("%-28s %-10s %-22s %10llu %8llu  %s\n", h.host().c_str(), h.agent_version().c_str(),
           FormatRfc3339(absl::FromUnixSeconds(h.last_seen().seconds())).c_str(),
           static_cast<unsigned long long>(h.chain_length()),
           static_cast<unsigned long long>(h.gap_signals()), labels.c_str());
  }
  return kExitOk;
}

int Evidence(v1::AdminService::Stub& admin, const std::string& host) {
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline());
  v1::ListEvidenceRequest req;
  req.set_host(host);
  auto reader = admin.ListEvidence(&ctx, req);
  v1::EvidenceRecord r;
  std::string line;
  while (reader->Read(&r)) {
    line.clear();
    evidence::AppendCanonicalRecord(&line, r, /*with_links=*/true);
    line.push_back('\n');
    fwrite(line.data(), 1, line.size(), stdout);
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) {
    fprintf(stderr, "attestctl: evidence: %s\n", s.error_message().c_str());
    return ExitCodeFor(s);
  }
  return kExitOk;
}

int Main(int argc, char** argv) {
  ClientOptions client;
  std::string format = "table";
  FlagSet flags("attestctl", kCommands);
  flags.String("daemon", &client.daemon, "attestd address (insecure only on loopback)");
  flags.String("tls-cert", &client.tls_cert, "admin or auditor certificate (PEM)");
  flags.String("tls-key", &client.tls_key, "its private key (PEM)");
  flags.String("ca", &client.ca, "CA that signed attestd's certificate (PEM)");
  flags.String("server-name", &client.server_name, "TLS name of attestd if not its address");
  flags.String("format", &format, "table or json");
  std::vector<std::string> args;
  if (absl::Status s = flags.Parse(argc, argv, &args); !s.ok()) {
    fprintf(stderr, "attestctl: %s\n", std::string(s.message()).c_str());
    return kExitUsage;
  }
  if (flags.help_requested() || args.empty()) {
    fputs(flags.Usage().c_str(), flags.help_requested() ? stdout : stderr);
    return flags.help_requested() ? kExitOk : kExitUsage;
  }
  if (format != "table" && format != "json") {
    fprintf(stderr, "attestctl: --format must be table or json\n");
    return kExitUsage;
  }
  const std::string& command = args[0];
  if (command != "hosts" && command != "evidence") {
    fprintf(stderr, "attestctl: unknown command \"%s\" (see --help)\n", command.c_str());
    return kExitUsage;
  }
  if (command == "evidence" && args.size() != 2) {
    fprintf(stderr, "attestctl: usage: attestctl evidence HOST\n");
    return kExitUsage;
  }
  auto channel = Connect(client);
  if (!channel.ok()) {
    fprintf(stderr, "attestctl: %s\n", std::string(channel.status().message()).c_str());
    return kExitUsage;
  }
  auto admin = v1::AdminService::NewStub(*channel);
  if (command == "hosts") return Hosts(*admin, format);
  return Evidence(*admin, args[1]);
}

}  // namespace
}  // namespace attest::ctl

int main(int argc, char** argv) { return attest::ctl::Main(argc, argv); }
