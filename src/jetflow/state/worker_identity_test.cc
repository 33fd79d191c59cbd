#include "jetflow/state/worker_identity.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>

namespace jetflow {
namespace {

TEST(WorkerIdentityTest, ThisProcessIsAliveAndNamedByHostPidBootAndStart) {
  const std::string& me = ThisWorker();
  EXPECT_EQ(std::count(me.begin(), me.end(), '/'), 3) << me;
  EXPECT_NE(me.find("/" + std::to_string(getpid()) + "/"), std::string::npos) << me;
  EXPECT_EQ(CheckWorkerLiveness(me), WorkerLiveness::kAlive);
}

TEST(WorkerIdentityTest, AnEndedProcessOfThisMachineIsDead) {
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    // The child names itself (a fork is another worker), reports and ends.
    const std::string& id = ThisWorker();
    (void)!write(pipe_fds[1], id.data(), id.size());
    _exit(0);
  }
  close(pipe_fds[1]);
  char buffer[512] = {};
  const ssize_t n = read(pipe_fds[0], buffer, sizeof(buffer) - 1);
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_GT(n, 0);
  const std::string child(buffer, static_cast<size_t>(n));
  EXPECT_NE(child, ThisWorker());
  EXPECT_EQ(CheckWorkerLiveness(child), WorkerLiveness::kDead);
}

TEST(WorkerIdentityTest, OtherMachinesAndForeignIdsAreUnknown) {
  EXPECT_EQ(CheckWorkerLiveness("another-host/1/0000000a/1"), WorkerLiveness::kUnknown);
  EXPECT_EQ(CheckWorkerLiveness("not a worker id"), WorkerLiveness::kUnknown);
  EXPECT_EQ(CheckWorkerLiveness(""), WorkerLiveness::kUnknown);
  // This machine's name, but a pid that is not a number.
  const std::string& me = ThisWorker();
  const std::string host = me.substr(0, me.find('/'));
  EXPECT_EQ(CheckWorkerLiveness(host + "/x/0000000a/1"), WorkerLiveness::kUnknown);
}

TEST(WorkerIdentityTest, DescribedByPidAndHost) {
  EXPECT_EQ(DescribeWorker("etl-7/4242/0a1b2c3d/99"), "pid 4242 on etl-7");
  EXPECT_EQ(DescribeWorker("worker-a"), "worker-a");  // not one jetflow made
}

}  // namespace
}  // namespace jetflow
