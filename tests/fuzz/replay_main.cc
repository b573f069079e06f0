// Without libFuzzer (the gcc builds of ./scripts/test), a fuzz target runs
// each file named on the command line, or every file in each directory
// named, once: the seeds and every kept crash input are regression tests.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  std::vector<std::filesystem::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(p)) {
        const std::string name = e.path().filename().string();
        if (e.is_regular_file() && name.rfind("README", 0) != 0) inputs.push_back(e.path());
      }
    } else if (std::filesystem::exists(p)) {
      inputs.push_back(p);
    } else {
      fprintf(stderr, "no such input: %s\n", argv[i]);
      return 2;
    }
  }
  for (const auto& p : inputs) {
    std::ifstream in(p, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  }
  printf("replayed %zu inputs\n", inputs.size());
  return 0;
}
