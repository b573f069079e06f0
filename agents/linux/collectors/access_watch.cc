#include "agents/linux/collectors/access_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <cstring>

#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace attest::agent {

struct AccessWatcher::Impl {
  explicit Impl(std::function<void()> cb) : on_change(std::move(cb)), stream(io) {}

  void Read() {
    stream.async_read_some(
        boost::asio::buffer(buffer), [this](const boost::system::error_code& ec, size_t n) {
          if (ec) return;  // cancelled on Stop
          bool relevant = false;
          for (size_t off = 0; off + sizeof(inotify_event) <= n;) {
            const auto* event = reinterpret_cast<const inotify_event*>(buffer.data() + off);
            if (event->mask & IN_Q_OVERFLOW) relevant = true;
            std::lock_guard lock(mu);
            auto it = filters.find(event->wd);
            if (it != filters.end()) {
              const std::string name = event->len > 0 ? std::string(event->name) : "";
              if (it->second.empty() || it->second.count(name)) relevant = true;
            }
            off += sizeof(inotify_event) + event->len;
          }
          if (relevant) on_change();
          Read();
        });
  }

  std::function<void()> on_change;
  boost::asio::io_context io;
  boost::asio::posix::stream_descriptor stream;
  alignas(inotify_event) std::array<char, 64 * 1024> buffer;
  int fd = -1;
  std::thread thread;
  std::mutex mu;
  std::map<int, std::set<std::string>> filters;  // watch descriptor -> names that matter
};

AccessWatcher::AccessWatcher(std::function<void()> on_change)
    : impl_(std::make_unique<Impl>(std::move(on_change))) {}

AccessWatcher::~AccessWatcher() { Stop(); }

absl::Status AccessWatcher::Start() {
  impl_->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (impl_->fd < 0) return absl::UnavailableError(StrCat("inotify_init1: ", strerror(errno)));
  impl_->stream.assign(impl_->fd);
  impl_->Read();
  impl_->thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "attest-inotify");
    impl_->io.run();
  });
  return absl::OkStatus();
}

void AccessWatcher::Watch(const std::vector<WatchedDir>& dirs) {
  if (impl_->fd < 0) return;
  std::lock_guard lock(impl_->mu);
  for (const auto& [wd, names] : impl_->filters) inotify_rm_watch(impl_->fd, wd);
  impl_->filters.clear();
  constexpr uint32_t kMask =
      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB;
  for (const WatchedDir& dir : dirs) {
    const int wd = inotify_add_watch(impl_->fd, dir.path.c_str(), kMask | IN_ONLYDIR);
    if (wd < 0) continue;  // missing: the periodic rescan covers it
    impl_->filters[wd] = dir.names;
  }
}

void AccessWatcher::Stop() {
  if (impl_->fd < 0) return;
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  boost::system::error_code ignored;
  impl_->stream.close(ignored);
  impl_->fd = -1;
}

}  // namespace attest::agent
