#include "test_page.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "hypheap_debugfs.h"

namespace hypheap::guest {
namespace {

constexpr const char* kPageFile = "/sys/kernel/debug/hypheap_test/page";

// One open and write per command, as `echo lend > page` does.
int Command(const char* command) {
  UniqueFd file(open(kPageFile, O_WRONLY | O_CLOEXEC));
  if (!file.valid()) {
    return errno;
  }
  const ssize_t length = static_cast<ssize_t>(strlen(command));
  if (write(file.get(), command, static_cast<size_t>(length)) != length) {
    return errno;
  }
  return file.Close();
}

// "pa=0x<hex> state=<free|host|lent>" as its fields.
Outcome<std::map<std::string, std::string>> ReadStatus() {
  UniqueFd file(open(kPageFile, O_RDONLY | O_CLOEXEC));
  if (!file.valid()) {
    return {.error = errno};
  }
  char text[128] = {};
  const ssize_t got = read(file.get(), text, sizeof(text) - 1);
  if (got < 0) {
    return {.error = errno};
  }
  return {.value = ParseFields(text)};
}

}  // namespace

Outcome<TestPage> TestPage::Allocate() {
  if (const int error = Command("alloc"); error != 0) {
    return {.error = error};
  }
  TestPage page;
  page.allocated_ = true;
  const Outcome<std::map<std::string, std::string>> status = ReadStatus();
  if (!status.ok()) {
    return {.error = status.error};
  }
  const auto pa = status.value.find("pa");
  const std::optional<uint64_t> value =
      pa == status.value.end() ? std::nullopt : ParseHex(pa->second);
  if (!value.has_value() || *value == 0 || *value % kPageSize != 0) {
    return {.error = EBADMSG};
  }
  page.pa_ = *value;
  return {.value = std::move(page)};
}

TestPage::TestPage(TestPage&& other) noexcept
    : allocated_(std::exchange(other.allocated_, false)),
      lent_(std::exchange(other.lent_, false)),
      pa_(std::exchange(other.pa_, 0)) {}

TestPage& TestPage::operator=(TestPage&& other) noexcept {
  if (this != &other) {
    Release();
    allocated_ = std::exchange(other.allocated_, false);
    lent_ = std::exchange(other.lent_, false);
    pa_ = std::exchange(other.pa_, 0);
  }
  return *this;
}

TestPage::~TestPage() {
  Release();
}

void TestPage::Release() {
  if (!allocated_) {
    return;
  }
  // Freeing a lent page would hand the page allocator memory a secure VM
  // still owns: reclaim first.
  if (lent_) {
    static_cast<void>(Reclaim());
  }
  static_cast<void>(Command("free"));
  allocated_ = false;
}

int TestPage::Lend() {
  const int error = Command("lend");
  if (error == 0) {
    lent_ = true;
  }
  return error;
}

int TestPage::Reclaim() {
  const int error = Command("reclaim");
  if (error == 0) {
    lent_ = false;
  }
  return error;
}

Outcome<std::string> TestPage::State() const {
  const Outcome<std::map<std::string, std::string>> status = ReadStatus();
  if (!status.ok()) {
    return {.error = status.error};
  }
  const auto state = status.value.find("state");
  if (state == status.value.end()) {
    return {.error = EBADMSG};
  }
  return {.value = state->second};
}

}  // namespace hypheap::guest
