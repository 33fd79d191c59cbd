// Replay driver for fuzz targets built without libFuzzer (see cmake/Fuzzing.cmake).
//
// Runs LLVMFuzzerTestOneInput on every file in the given corpus folders, and on
// deterministic mutations of each: every prefix length (truncated input is the most
// common corruption), and copies with single bytes set to 0x00, 0xFF and 0x80 at a spread
// of offsets. A decoder passes if none of these crash or trip a sanitizer; the target
// itself must reject malformed input with an error, never by aborting.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void RunOne(const std::vector<uint8_t>& input) {
  // A copy of exactly `size` bytes, so ASan sees any read past the end.
  std::vector<uint8_t> copy(input);
  LLVMFuzzerTestOneInput(copy.empty() ? nullptr : copy.data(), copy.size());
}

size_t ReplayWithMutations(const std::vector<uint8_t>& input) {
  size_t runs = 0;
  RunOne(input);
  ++runs;
  // Every prefix for small inputs, a spread of prefixes for large ones.
  const size_t prefix_step = input.size() <= 4096 ? 1 : input.size() / 2048;
  for (size_t n = 0; n < input.size(); n += prefix_step) {
    RunOne(std::vector<uint8_t>(input.begin(), input.begin() + n));
    ++runs;
  }
  const size_t byte_step = input.size() <= 1024 ? 1 : input.size() / 512;
  for (size_t i = 0; i < input.size(); i += byte_step) {
    for (uint8_t value : {uint8_t{0x00}, uint8_t{0xFF}, uint8_t{0x80}}) {
      if (input[i] == value) continue;
      std::vector<uint8_t> mutated(input);
      mutated[i] = value;
      RunOne(mutated);
      ++runs;
    }
  }
  return runs;
}

}  // namespace

int main(int argc, char** argv) {
  size_t files = 0;
  size_t runs = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path root(argv[i]);
    std::vector<std::filesystem::path> paths;
    if (std::filesystem::is_directory(root)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
        if (entry.is_regular_file()) paths.push_back(entry.path());
      }
    } else if (std::filesystem::is_regular_file(root)) {
      paths.push_back(root);
    } else {
      std::fprintf(stderr, "fuzz replay: no corpus at %s\n", argv[i]);
      return 2;
    }
    for (const auto& path : paths) {
      std::ifstream in(path, std::ios::binary);
      std::vector<uint8_t> input((std::istreambuf_iterator<char>(in)),
                                 std::istreambuf_iterator<char>());
      runs += ReplayWithMutations(input);
      ++files;
    }
  }
  if (files == 0) {
    std::fprintf(stderr, "fuzz replay: empty corpus\n");
    return 2;
  }
  std::printf("fuzz replay: %zu corpus files, %zu inputs, no crash\n", files, runs);
  return 0;
}
