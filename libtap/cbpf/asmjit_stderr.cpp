// What asmjit's renamed `stderr` load reads (see CMakeLists.txt): the same
// stream, through a variable local to libtap.so.
#include <cstdio>

extern "C" {
__attribute__((visibility("hidden"))) std::FILE *tap_asmjit_stderr = stderr;
}
