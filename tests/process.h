// Child processes for the tests that run the clearlane binary (or kcat):
// start one with its standard streams on files, wait for it, and start
// `clearlane broker` and read its bootstrap address; and a small
// filesystem for the disk-full tests.
//
// Thread-safety: reentrant.

#ifndef CLEARLANE_TESTS_PROCESS_H_
#define CLEARLANE_TESTS_PROCESS_H_

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_util.h"

namespace clearlane::testing {

// A variable of the environment as a number (the long modes of the crash
// and load tests), or `fallback`.
inline int64_t EnvOr(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoll(v) : fallback;
}

// Where a child's standard streams go: stdin from `in`, stdout to `out`
// (truncated), stderr appended to `err`; empty is /dev/null.
struct Streams {
  std::string in, out, err;
};

// Starts `args` (args[0] looked up on PATH); -1 if it cannot start.
inline pid_t Spawn(const std::vector<std::string>& args,
                   const Streams& streams) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  auto or_null = [](const std::string& p) {
    return p.empty() ? "/dev/null" : p.c_str();
  };
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, or_null(streams.in), O_RDONLY,
                                   0);
  posix_spawn_file_actions_addopen(&actions, 1, or_null(streams.out),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, or_null(streams.err),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid = -1;
  if (posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ)) {
    pid = -1;
  }
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

// Starts `args` with its log (stderr) appended to `log`, stdout discarded.
inline pid_t Spawn(const std::vector<std::string>& args,
                   const std::string& log) {
  return Spawn(args, Streams{.err = log});
}

// A wait status as a shell reports it: the exit code, or 128 + signal.
inline int ExitCode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Waits for `pid` to end; its exit code (ExitCode).
inline int Wait(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return ExitCode(status);
}

// Its exit code if `pid` has ended, without waiting; else nullopt.
inline std::optional<int> Exited(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) != pid) return std::nullopt;
  return ExitCode(status);
}

// Runs `args` to the end; its exit code, -1 if it could not start.
inline int RunToEnd(const std::vector<std::string>& args,
                    const std::string& log) {
  const pid_t pid = Spawn(args, log);
  return pid < 0 ? -1 : Wait(pid);
}

// Waits (up to `patience`) for a process to write `file`, and returns its
// first line ("" if it never came): `clearlane broker --bootstrap-file`.
inline std::string AwaitFileLine(
    const std::filesystem::path& file,
    std::chrono::milliseconds patience = std::chrono::seconds(10)) {
  const auto until = std::chrono::steady_clock::now() + patience;
  while (!std::filesystem::exists(file) &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  std::string text = Slurp(file);
  const size_t end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

// A tmpfs of a given size mounted at a directory for the life of the
// object, where the test may mount one (root, or a container that allows
// mounts); mounted() says whether it is. Resize grows (or shrinks) it in
// place, as an operator freeing space would.
class SmallFilesystem {
 public:
  SmallFilesystem(std::filesystem::path dir, const std::string& size)
      : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    mounted_ = std::system(("mount -t tmpfs -o size=" + size +
                            " clearlane-test " + dir_.string() + " 2>/dev/null")
                               .c_str()) == 0;
  }
  ~SmallFilesystem() {
    if (mounted_) std::system(("umount " + dir_.string()).c_str());
  }
  SmallFilesystem(const SmallFilesystem&) = delete;
  SmallFilesystem& operator=(const SmallFilesystem&) = delete;

  bool mounted() const { return mounted_; }
  bool Resize(const std::string& size) const {
    return std::system(("mount -o remount,size=" + size + " " + dir_.string())
                           .c_str()) == 0;
  }
  const std::filesystem::path& dir() const { return dir_; }

  // Why a test that needs one was skipped.
  static constexpr const char* kCannotMount =
      "cannot mount a small tmpfs here (needs root or CAP_SYS_ADMIN); the "
      "disk-full test did not run";

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
};

}  // namespace clearlane::testing

#endif  // CLEARLANE_TESTS_PROCESS_H_
