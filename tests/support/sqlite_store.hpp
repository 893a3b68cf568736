// Test support: the real storage-sqlite plugin, loaded from its .so into a scratch folder and
// migrated, for unit tests of core classes that need a Store (no daemon involved). Needs
// TOLLGATE_PLUGIN_BUILD_DIR defined by the test target.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "plugins/plugin_host.hpp"
#include "storage/store.hpp"

namespace tollgate::testing {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "tollgate-store-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    host_ = std::make_unique<plugins::PluginHost>(dir_.string());
    plugins::PluginSpec spec;
    spec.config_file = "store-test.ini";
    spec.file = std::filesystem::path(TOLLGATE_PLUGIN_BUILD_DIR) / "storage-sqlite.so";
    spec.settings = {{"path", "test.db"}, {"synchronous", "normal"}};
    const auto failure = host_->load(spec);
    ASSERT_FALSE(failure.has_value()) << failure->message;
    store_ = std::make_unique<storage::Store>(*host_->firstOfKind(TG_KIND_STORAGE));
    store_->migrate();
    store_->createTenant(
        {.id = "tn_a", .name = "A", .status = TG_TENANT_ACTIVE, .created_at_ms = 1});
  }
  void TearDown() override {
    store_.reset();
    host_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  std::unique_ptr<plugins::PluginHost> host_;
  std::unique_ptr<storage::Store> store_;  // migrated, with tenant tn_a
};

}  // namespace tollgate::testing
