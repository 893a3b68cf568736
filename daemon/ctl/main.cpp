// tollgatectl: the admin's command line, a client of tollgated's admin API.
//
//   tollgatectl [--url URL] [--ca-file FILE] [--admin-key-file FILE] [--json] COMMAND ...
//     tenant create NAME | tenant list | tenant show ID | tenant suspend ID | tenant activate ID
//     key issue TENANT_ID [--label TEXT] | key list TENANT_ID | key revoke TENANT_ID KEY_ID
//     wallet show|entries|holds|usage TENANT_ID | wallet credit|debit TENANT_ID AMOUNT --reason
//     TEXT
//     --key KEY
//     wallet auto-recharge TENANT_ID [--threshold AMOUNT --amount AMOUNT | --off]
//     billing link TENANT_ID PROVIDER CUSTOMER_REF
//     send TENANT_ID --to E164 --body TEXT [...] [--wait]   (exit status 4 unless delivered)
//     ledger verify [TENANT_ID]   (exit status 3 when the ledger is not consistent)
//
// URL defaults to $TOLLGATE_URL or http://127.0.0.1:8080; the admin key file to
// $TOLLGATE_ADMIN_KEY_FILE or /var/lib/tollgate/admin.key. An https:// URL is verified like
// every outbound connection of the daemon (system CA store plus --ca-file, host name checked);
// the admin key is sent only once that has succeeded.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "net/client.hpp"

namespace {

const char* kUsage =
    "usage: tollgatectl [--url URL] [--ca-file FILE] [--admin-key-file FILE] [--json]\n"
    "                   COMMAND ...\n"
    "  --url URL                   http:// or https:// address of tollgated\n"
    "  --ca-file FILE              PEM CA certificates trusted for https:// besides the system "
    "store\n"
    "  tenant create NAME          create a tenant\n"
    "  tenant list                 list tenants\n"
    "  tenant show ID              show one tenant\n"
    "  tenant suspend ID           refuse the tenant's API keys and webhooks\n"
    "  tenant activate ID          undo suspend\n"
    "  key issue TENANT_ID [--label TEXT]   issue an API key (printed once)\n"
    "  key list TENANT_ID          list a tenant's keys (never the secrets)\n"
    "  key revoke TENANT_ID KEY_ID revoke a key at once\n"
    "  number attach TENANT_ID E164 [--account AC...] [--voice PLUGIN] [--sms PLUGIN]\n"
    "                [--settings JSON]   attach a number the tenant owns on Twilio\n"
    "  number list TENANT_ID       list a tenant's numbers\n"
    "  number detach TENANT_ID E164\n"
    "  account add TENANT_ID AC... --token-file FILE [--name TEXT]\n"
    "                              register a tenant's Twilio subaccount (token stored encrypted)\n"
    "  wallet show TENANT_ID       balance, held and available of the tenant's prepaid wallet\n"
    "  wallet entries TENANT_ID [--type TYPE]\n"
    "                              every entry of its ledger (or of one type), oldest first\n"
    "  wallet holds TENANT_ID [--status active|captured|released|expired]\n"
    "                              its holds (amounts reserved until the actual charge is known)\n"
    "  wallet usage TENANT_ID [--period day|month] [--by type|country]\n"
    "                              count and total of its entries by period (UTC) and type\n"
    "                              (and country: that of the number that priced the usage)\n"
    "  wallet price TENANT_ID PRODUCT NUMBER [--number-type TYPE]\n"
    "                              what one unit costs the tenant: PRODUCT sms_out, sms_in,\n"
    "                              voice_in_minute, voice_out_minute or number_month, priced by\n"
    "                              NUMBER's country (E.164)\n"
    "  wallet credit TENANT_ID AMOUNT --reason TEXT --key KEY\n"
    "  wallet debit TENANT_ID AMOUNT --reason TEXT --key KEY\n"
    "                              top up or debit the wallet (AMOUNT in currency units, e.g.\n"
    "                              12.50; KEY makes a retry safe: it applies once)\n"
    "  wallet auto-recharge TENANT_ID [--threshold AMOUNT --amount AMOUNT | --off]\n"
    "                              show or set it: charge the default card AMOUNT when the\n"
    "                              available balance falls under the threshold\n"
    "  billing link TENANT_ID PROVIDER CUSTOMER_REF\n"
    "                              the provider's customer the tenant pays as (e.g.\n"
    "                              billing-stripe cus_...)\n"
    "  send TENANT_ID --to E164 --body TEXT [--from E164] [--media URL]... [--status-callback\n"
    "       URL] [--send-at ISO8601] [--key KEY] [--wait]\n"
    "                              send an SMS as the tenant (KEY makes a retry safe); --wait\n"
    "                              follows it to delivered (exit 0) or undelivered/failed (4)\n"
    "  ledger verify [TENANT_ID]   check every wallet (or one): balance = sum of entries, each\n"
    "                              balance_after; exit status 3 on any mismatch\n"
    "environment: TOLLGATE_URL, TOLLGATE_ADMIN_KEY_FILE\n";

struct Options {
  std::string url;
  std::string ca_file;  // empty: the system store only
  std::string key_file;
  bool json = false;
  std::vector<std::string> args;
};

struct Reply {
  int status;
  Poco::JSON::Object::Ptr body;  // null for 204
};

std::string env(const char* name, const char* def) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : def;
}

std::string readKey(const std::string& file) {
  std::ifstream in(file);
  if (!in)
    throw std::runtime_error(
        fmt::format("cannot read admin key file {} (use --admin-key-file)", file));
  std::string k;
  std::getline(in, k);
  while (!k.empty() && std::isspace(static_cast<unsigned char>(k.back()))) k.pop_back();
  return k;
}

Reply call(const Options& o, const std::string& method, const std::string& path,
           const Poco::JSON::Object* body = nullptr,
           const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  const Poco::URI uri(o.url);
  auto session = tollgate::net::makeSession(uri);
  session->setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  req.set("Authorization", "Bearer " + readKey(o.key_file));
  for (const auto& [name, value] : headers) req.set(name, value);
  std::string payload;
  if (body != nullptr) {
    std::ostringstream os;
    body->stringify(os);
    payload = os.str();
    req.setContentType("application/json");
  }
  req.setContentLength(static_cast<std::streamsize>(payload.size()));
  session->sendRequest(req) << payload;
  Poco::Net::HTTPResponse resp;
  std::istream& in = session->receiveResponse(resp);
  std::string text;
  Poco::StreamCopier::copyToString(in, text);
  Reply r{static_cast<int>(resp.getStatus()), nullptr};
  if (!text.empty()) {
    Poco::JSON::Parser parser;
    r.body = parser.parse(text).extract<Poco::JSON::Object::Ptr>();
  }
  if (r.status >= 400) {
    std::string msg = resp.getReason();
    if (r.body && r.body->has("error"))
      msg = r.body->getObject("error")->getValue<std::string>("message");
    throw std::runtime_error(fmt::format("{} {} failed: {} {}", method, path, r.status, msg));
  }
  return r;
}

void printTenant(const Poco::JSON::Object& t) {
  std::cout << fmt::format("{}  {}  {}\n", t.getValue<std::string>("id"),
                           t.getValue<std::string>("status"), t.getValue<std::string>("name"));
}

void printKey(const Poco::JSON::Object& k) {
  std::cout << fmt::format("{}  {}  {}\n", k.getValue<std::string>("id"),
                           k.getValue<bool>("revoked") ? "revoked" : "active",
                           k.getValue<std::string>("label"));
}

void printNumber(const Options&, const Poco::JSON::Object& n) {
  std::cout << fmt::format(
      "{}  account {}  voice {}  sms {}\n", n.getValue<std::string>("e164"),
      n.getValue<std::string>("account_sid"),
      n.getValue<std::string>("voice_plugin").empty() ? "-"
                                                      : n.getValue<std::string>("voice_plugin"),
      n.getValue<std::string>("sms_plugin").empty() ? "-" : n.getValue<std::string>("sms_plugin"));
}

// Micro-units as currency units, exactly: -1250000 -> "-1.250000".
std::string money(int64_t micros) {
  const uint64_t magnitude =
      micros < 0 ? 0 - static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
  return fmt::format("{}{}.{:06}", micros < 0 ? "-" : "", magnitude / 1000000, magnitude % 1000000);
}

// "12.50" -> 12500000 micro-units, exactly (no floating point); at most 6 decimals.
int64_t parseMoney(const std::string& text) {
  const auto dot = text.find('.');
  const std::string whole = text.substr(0, dot);
  std::string frac = dot == std::string::npos ? "" : text.substr(dot + 1);
  auto digits = [](const std::string& t) {
    return std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (whole.empty() || whole.size() > 12 || !digits(whole) || frac.size() > 6 || !digits(frac) ||
      (dot != std::string::npos && frac.empty())) {
    throw std::invalid_argument("AMOUNT '" + text +
                                "' is not an amount in currency units like 12.50 (at most 6 "
                                "decimals)");
  }
  frac.resize(6, '0');
  return std::stoll(whole) * 1000000 + std::stoll(frac);
}

void printWallet(const Options&, const Poco::JSON::Object& w) {
  std::cout << fmt::format(
      "{}  {} {}  (held {}, available {}, credit limit {})\n", w.getValue<std::string>("tenant_id"),
      w.getValue<std::string>("currency"), money(w.getValue<Poco::Int64>("balance_micros")),
      money(w.getValue<Poco::Int64>("held_micros")),
      money(w.getValue<Poco::Int64>("available_micros")),
      money(w.getValue<Poco::Int64>("credit_limit_micros")));
}

void output(const Options& o, const Reply& r,
            void (*print)(const Options&, const Poco::JSON::Object&)) {
  if (!r.body) return;
  if (o.json) {
    r.body->stringify(std::cout);
    std::cout << "\n";
  } else {
    print(o, *r.body);
  }
}

// send TENANT_ID --to E164 --body TEXT [--from E164] [--media URL]... [--status-callback URL]
//      [--send-at ISO8601] [--key KEY] [--wait]: queues a message as the tenant would (POST
//      /v1/messages); --wait
// follows it to its final state (exit 4 unless delivered).
int sendCommand(const Options& o) {
  const auto& a = o.args;
  if (a.size() < 2) throw std::invalid_argument("send TENANT_ID --to E164 --body TEXT ...");
  const std::string tenant = a[1];
  Poco::JSON::Object b;
  Poco::JSON::Array media;
  std::string key;
  bool wait = false;
  for (size_t i = 2; i < a.size(); ++i) {
    if (a[i] == "--wait") {
      wait = true;
      continue;
    }
    if (i + 1 >= a.size()) throw std::invalid_argument("option " + a[i] + " needs a value");
    const std::string& v = a[++i];
    if (a[i - 1] == "--to") {
      b.set("to", v);
    } else if (a[i - 1] == "--from") {
      b.set("from", v);
    } else if (a[i - 1] == "--body") {
      b.set("body", v);
    } else if (a[i - 1] == "--media") {
      media.add(v);
    } else if (a[i - 1] == "--status-callback") {
      b.set("status_callback", v);
    } else if (a[i - 1] == "--send-at") {
      b.set("send_at", v);
    } else if (a[i - 1] == "--key") {
      key = v;
    } else {
      throw std::invalid_argument("unknown option " + a[i - 1]);
    }
  }
  if (!b.has("to")) throw std::invalid_argument("send needs --to E164");
  if (media.size() > 0) b.set("media_urls", media);
  std::vector<std::pair<std::string, std::string>> headers;
  if (!key.empty()) headers.emplace_back("Idempotency-Key", key);
  const Reply queued = call(o, "POST", "/admin/v1/tenants/" + tenant + "/messages", &b, headers);
  const std::string id = queued.body->getValue<std::string>("id");
  const auto show = [&](const Poco::JSON::Object& m) {
    if (o.json) {
      m.stringify(std::cout);
      std::cout << "\n";
      return;
    }
    std::string line =
        fmt::format("{}  {}", m.getValue<std::string>("id"), m.getValue<std::string>("status"));
    if (m.has("segments")) line += fmt::format("  {} segment(s)", m.getValue<int>("segments"));
    if (m.has("twilio_sid") && !m.getValue<std::string>("twilio_sid").empty()) {
      line += "  " + m.getValue<std::string>("twilio_sid");
    }
    if (m.has("error_code")) line += fmt::format("  error {}", m.getValue<int>("error_code"));
    if (m.has("error")) line += "  " + m.getValue<std::string>("error");
    std::cout << line << std::endl;
  };
  show(*queued.body);
  if (!wait) return 0;
  std::string last = queued.body->getValue<std::string>("status");
  // Two minutes from when it is due (a scheduled message waits until then).
  const int64_t due_in_ms = queued.body->has("next_attempt_at_ms")
                                ? queued.body->getValue<int64_t>("next_attempt_at_ms") -
                                      std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count()
                                : 0;
  for (const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(120) +
                        std::chrono::milliseconds(std::max<int64_t>(due_in_ms, 0));
       std::chrono::steady_clock::now() < end;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const Reply now = call(o, "GET", "/admin/v1/tenants/" + tenant + "/outbox/" + id);
    const std::string status = now.body->getValue<std::string>("status");
    if (status != last) show(*now.body);
    last = status;
    if (status == "delivered") return 0;
    if (status == "undelivered" || status == "failed") return 4;
  }
  std::cerr << "tollgatectl: " << id << " still " << last << " 120 s after it was due\n";
  return 4;
}

int run(const Options& o) {
  const auto& a = o.args;
  auto need = [&](size_t n) {
    if (a.size() != n) throw std::invalid_argument("wrong number of arguments");
  };
  if (!a.empty() && a[0] == "send") return sendCommand(o);
  const std::string what = a.size() > 1 ? a[0] + " " + a[1] : (a.empty() ? "" : a[0]);
  if (what == "tenant create") {
    need(3);
    Poco::JSON::Object b;
    b.set("name", a[2]);
    output(o, call(o, "POST", "/admin/v1/tenants", &b),
           [](const Options&, const Poco::JSON::Object& t) { printTenant(t); });
  } else if (what == "tenant list") {
    need(2);
    std::string after;
    for (;;) {
      const Reply r =
          call(o, "GET", "/admin/v1/tenants?limit=1000" + (after.empty() ? "" : "&after=" + after));
      auto list = r.body->getArray("tenants");
      for (size_t i = 0; i < list->size(); ++i) {
        auto t = list->getObject(i);
        if (o.json) {
          t->stringify(std::cout);
          std::cout << "\n";
        } else {
          printTenant(*t);
        }
      }
      if (!r.body->has("next_after")) break;
      after = r.body->getValue<std::string>("next_after");
    }
  } else if (what == "tenant show") {
    need(3);
    output(o, call(o, "GET", "/admin/v1/tenants/" + a[2]),
           [](const Options&, const Poco::JSON::Object& t) { printTenant(t); });
  } else if (what == "tenant suspend" || what == "tenant activate") {
    need(3);
    Poco::JSON::Object b;
    b.set("status", a[1] == "suspend" ? "suspended" : "active");
    output(o, call(o, "PATCH", "/admin/v1/tenants/" + a[2], &b),
           [](const Options&, const Poco::JSON::Object& t) { printTenant(t); });
  } else if (what == "key issue") {
    if (a.size() != 3 && !(a.size() == 5 && a[3] == "--label"))
      throw std::invalid_argument("wrong arguments");
    Poco::JSON::Object b;
    b.set("label", a.size() == 5 ? a[4] : std::string());
    output(o, call(o, "POST", "/admin/v1/tenants/" + a[2] + "/keys", &b),
           [](const Options&, const Poco::JSON::Object& k) {
             std::cout << fmt::format("key id: {}\napi key (shown once, store it now): {}\n",
                                      k.getValue<std::string>("id"),
                                      k.getValue<std::string>("key"));
           });
  } else if (what == "key list") {
    need(3);
    output(o, call(o, "GET", "/admin/v1/tenants/" + a[2] + "/keys"),
           [](const Options&, const Poco::JSON::Object& r) {
             auto list = r.getArray("keys");
             for (size_t i = 0; i < list->size(); ++i) printKey(*list->getObject(i));
           });
  } else if (what == "key revoke") {
    need(4);
    call(o, "DELETE", "/admin/v1/tenants/" + a[2] + "/keys/" + a[3]);
    if (!o.json) std::cout << "revoked " << a[3] << "\n";
  } else if (what == "number attach") {
    if (a.size() < 4) throw std::invalid_argument("wrong number of arguments");
    Poco::JSON::Object b;
    b.set("e164", a[3]);
    for (size_t i = 4; i < a.size(); i += 2) {
      if (i + 1 >= a.size()) throw std::invalid_argument("option " + a[i] + " needs a value");
      const std::string& opt = a[i];
      const std::string& val = a[i + 1];
      if (opt == "--account")
        b.set("account_sid", val);
      else if (opt == "--voice")
        b.set("voice_plugin", val);
      else if (opt == "--sms")
        b.set("sms_plugin", val);
      else if (opt == "--twilio-sid")
        b.set("twilio_sid", val);
      else if (opt == "--settings") {
        try {
          b.set("settings", Poco::JSON::Parser().parse(val).extract<Poco::JSON::Object::Ptr>());
        } catch (const std::exception&) {
          throw std::invalid_argument("--settings must be a JSON object");
        }
      } else {
        throw std::invalid_argument("unknown option " + opt);
      }
    }
    output(o, call(o, "POST", "/admin/v1/tenants/" + a[2] + "/numbers", &b), printNumber);
  } else if (what == "number list") {
    need(3);
    output(o, call(o, "GET", "/admin/v1/tenants/" + a[2] + "/numbers"),
           [](const Options& opts, const Poco::JSON::Object& r) {
             auto list = r.getArray("numbers");
             for (size_t i = 0; i < list->size(); ++i) printNumber(opts, *list->getObject(i));
           });
  } else if (what == "number detach") {
    need(4);
    std::string e164;
    Poco::URI::encode(a[3], "+", e164);  // a literal '+' in a path is easy to mangle
    call(o, "DELETE", "/admin/v1/tenants/" + a[2] + "/numbers/" + e164);
    if (!o.json) std::cout << "detached " << a[3] << "\n";
  } else if (what == "account add") {
    if (a.size() != 6 && a.size() != 8) throw std::invalid_argument("wrong number of arguments");
    if (a[4] != "--token-file" || (a.size() == 8 && a[6] != "--name")) {
      throw std::invalid_argument(
          "want: account add TENANT_ID AC... --token-file FILE [--name TEXT]");
    }
    Poco::JSON::Object b;
    b.set("account_sid", a[3]);
    b.set("auth_token", readKey(a[5]));
    b.set("friendly_name", a.size() == 8 ? a[7] : std::string());
    output(o, call(o, "POST", "/admin/v1/tenants/" + a[2] + "/twilio-accounts", &b),
           [](const Options&, const Poco::JSON::Object& r) {
             std::cout << "registered " << r.getValue<std::string>("account_sid") << "\n";
           });
  } else if (what == "wallet show") {
    need(3);
    output(o, call(o, "GET", "/admin/v1/tenants/" + a[2] + "/wallet"), printWallet);
  } else if (what == "wallet entries") {
    std::string type;
    if (a.size() == 5 && a[3] == "--type") {
      type = "&type=" + a[4];
    } else {
      need(3);
    }
    int64_t after = 0;
    for (;;) {
      const Reply r =
          call(o, "GET",
               fmt::format("/admin/v1/tenants/{}/wallet/entries?limit=1000&after_seq={}{}", a[2],
                           after, type));
      auto list = r.body->getArray("entries");
      for (size_t i = 0; i < list->size(); ++i) {
        auto e = list->getObject(i);
        if (o.json) {
          e->stringify(std::cout);
          std::cout << "\n";
        } else {
          std::cout << fmt::format("{}  {}  {}  balance {}  {}\n", e->getValue<Poco::Int64>("seq"),
                                   e->getValue<std::string>("type"),
                                   money(e->getValue<Poco::Int64>("amount_micros")),
                                   money(e->getValue<Poco::Int64>("balance_after_micros")),
                                   e->getValue<std::string>("description"));
        }
      }
      if (!r.body->has("next_after_seq")) break;
      after = r.body->getValue<Poco::Int64>("next_after_seq");
    }
  } else if (what == "wallet holds") {
    std::string status;
    if (a.size() == 5 && a[3] == "--status") {
      status = "&status=" + a[4];
    } else {
      need(3);
    }
    std::string after;
    for (;;) {
      std::string cursor;
      Poco::URI::encode(after, "!#$&'()*+,/:;=?@[]", cursor);
      const Reply r = call(o, "GET",
                           fmt::format("/admin/v1/tenants/{}/wallet/holds?limit=1000&after={}{}",
                                       a[2], cursor, status));
      auto list = r.body->getArray("holds");
      for (size_t i = 0; i < list->size(); ++i) {
        auto h = list->getObject(i);
        if (o.json) {
          h->stringify(std::cout);
          std::cout << "\n";
        } else {
          std::cout << fmt::format(
              "{}  {}  {}  captured {}  {}\n", h->getValue<std::string>("hold_id"),
              h->getValue<std::string>("status"), money(h->getValue<Poco::Int64>("amount_micros")),
              money(h->getValue<Poco::Int64>("captured_micros")),
              h->getValue<std::string>("reference"));
        }
      }
      if (!r.body->has("next_after")) break;
      after = r.body->getValue<std::string>("next_after");
    }
  } else if (what == "wallet usage") {
    // wallet usage TENANT_ID [--period day|month] [--by type|country]
    std::string period = "day", by = "type";
    if (a.size() < 3 || a.size() % 2 == 0) throw std::invalid_argument("wrong number of arguments");
    for (size_t i = 3; i + 1 < a.size(); i += 2) {
      if (a[i] == "--period") {
        period = a[i + 1];
      } else if (a[i] == "--by") {
        by = a[i + 1];
      } else {
        throw std::invalid_argument("unknown option " + a[i]);
      }
    }
    output(o,
           call(o, "GET",
                "/admin/v1/tenants/" + a[2] + "/wallet/usage?period=" + period + "&by=" + by),
           [](const Options&, const Poco::JSON::Object& u) {
             // One line per type (of a country, with --by country) and period.
             auto lines = [](const std::string& start, const std::string& prefix,
                             const Poco::JSON::Object& totals) {
               auto types = totals.getObject("by_type");
               std::vector<std::string> names;
               types->getNames(names);
               for (const auto& n : names) {
                 auto t = types->getObject(n);
                 std::cout << fmt::format("{}  {}{}  {} x  {}\n", start, prefix, n,
                                          t->getValue<Poco::Int64>("count"),
                                          money(t->getValue<Poco::Int64>("total_micros")));
               }
             };
             auto list = u.getArray("periods");
             for (size_t i = 0; i < list->size(); ++i) {
               auto p = list->getObject(i);
               const std::string start = p->getValue<std::string>("start");
               if (p->has("by_country")) {
                 auto countries = p->getObject("by_country");
                 std::vector<std::string> names;
                 countries->getNames(names);
                 for (const auto& c : names) lines(start, c + "  ", *countries->getObject(c));
               } else {
                 lines(start, "", *p);
               }
               std::cout << fmt::format("{}  net  {}\n", start,
                                        money(p->getValue<Poco::Int64>("net_micros")));
             }
           });
  } else if (what == "wallet price") {
    std::string type;
    if (a.size() == 7 && a[5] == "--number-type") {
      type = a[6];
    } else {
      need(5);
    }
    std::string number, encoded_type;
    Poco::URI::encode(a[4], "+&=#", number);
    Poco::URI::encode(type, "+&=#", encoded_type);
    output(o,
           call(o, "GET",
                "/admin/v1/tenants/" + a[2] + "/prices?product=" + a[3] + "&number=" + number +
                    "&number_type=" + encoded_type),
           [](const Options&, const Poco::JSON::Object& p) {
             std::cout << fmt::format("{}  {} ({})  {} {}\n", p.getValue<std::string>("product"),
                                      p.getValue<std::string>("number"),
                                      p.getValue<std::string>("country"),
                                      money(p.getValue<Poco::Int64>("amount_micros")),
                                      p.getValue<std::string>("currency"));
           });
  } else if (what == "wallet credit" || what == "wallet debit") {
    if (a.size() != 8) throw std::invalid_argument("wrong number of arguments");
    Poco::JSON::Object b;
    b.set("amount_micros", parseMoney(a[3]));
    for (size_t i = 4; i < 8; i += 2) {
      if (a[i] == "--reason") {
        b.set("reason", a[i + 1]);
      } else if (a[i] == "--key") {
        b.set("idempotency_key", a[i + 1]);
      } else {
        throw std::invalid_argument("unknown option " + a[i]);
      }
    }
    if (!b.has("reason") || !b.has("idempotency_key")) {
      throw std::invalid_argument("want --reason TEXT and --key KEY");
    }
    const std::string path =
        "/admin/v1/tenants/" + a[2] + "/wallet/" + (a[1] == "credit" ? "credits" : "debits");
    output(o, call(o, "POST", path, &b), [](const Options&, const Poco::JSON::Object& r) {
      std::cout << fmt::format("{} {}: balance {} (entry {})\n",
                               r.getValue<std::string>("currency"),
                               money(r.getValue<Poco::Int64>("amount_micros")),
                               money(r.getValue<Poco::Int64>("balance_after_micros")),
                               r.getValue<Poco::Int64>("entry_seq"));
    });
  } else if (what == "wallet auto-recharge") {
    // wallet auto-recharge TENANT_ID [--threshold AMOUNT --amount AMOUNT | --off]
    if (a.size() < 3) throw std::invalid_argument("wrong number of arguments");
    const std::string path = "/admin/v1/tenants/" + a[2] + "/wallet/auto-recharge";
    Poco::JSON::Object b;
    if (a.size() == 4 && a[3] == "--off") {
      b.set("enabled", false);
    } else if (a.size() == 7) {
      b.set("enabled", true);
      for (size_t i = 3; i < 7; i += 2) {
        if (a[i] == "--threshold") {
          b.set("threshold_micros", parseMoney(a[i + 1]));
        } else if (a[i] == "--amount") {
          b.set("amount_micros", parseMoney(a[i + 1]));
        } else {
          throw std::invalid_argument("unknown option " + a[i]);
        }
      }
    } else if (a.size() != 3) {
      throw std::invalid_argument("want --threshold AMOUNT --amount AMOUNT, or --off");
    }
    const Reply r = a.size() == 3 ? call(o, "GET", path) : call(o, "PUT", path, &b);
    output(o, r, [](const Options&, const Poco::JSON::Object& v) {
      if (!v.getValue<bool>("enabled")) {
        std::cout << "auto-recharge off\n";
      } else {
        std::cout << fmt::format("auto-recharge {} {} when under {}\n",
                                 v.getValue<std::string>("currency"),
                                 money(v.getValue<Poco::Int64>("amount_micros")),
                                 money(v.getValue<Poco::Int64>("threshold_micros")));
      }
      if (v.getValue<int>("failures") > 0) {
        std::cout << fmt::format("{} failure(s) in a row, last: {}\n", v.getValue<int>("failures"),
                                 v.getValue<std::string>("last_error"));
      }
    });
  } else if (what == "billing link") {
    // billing link TENANT_ID PROVIDER CUSTOMER_REF
    if (a.size() != 5) throw std::invalid_argument("wrong number of arguments");
    Poco::JSON::Object b;
    b.set("provider", a[3]);
    b.set("customer_ref", a[4]);
    output(o, call(o, "PUT", "/admin/v1/tenants/" + a[2] + "/billing", &b),
           [](const Options&, const Poco::JSON::Object& v) {
             std::cout << fmt::format(
                 "{} pays through {} customer {}\n", v.getValue<std::string>("tenant_id"),
                 v.getValue<std::string>("provider"), v.getValue<std::string>("customer_ref"));
           });
  } else if (what == "ledger verify") {
    if (a.size() != 2 && a.size() != 3) throw std::invalid_argument("wrong number of arguments");
    const Reply r =
        call(o, "GET", "/admin/v1/ledger/verify" + (a.size() == 3 ? "?tenant_id=" + a[2] : ""));
    output(o, r, [](const Options&, const Poco::JSON::Object& v) {
      auto list = v.getArray("mismatches");
      for (size_t i = 0; i < list->size(); ++i) {
        auto m = list->getObject(i);
        std::cout << fmt::format("MISMATCH {} {}{}: {}\n", m->getValue<std::string>("tenant_id"),
                                 m->getValue<std::string>("currency"),
                                 m->has("seq")
                                     ? fmt::format(" entry {}", m->getValue<Poco::Int64>("seq"))
                                     : std::string(),
                                 m->getValue<std::string>("problem"));
      }
      std::cout << fmt::format("{}: {} wallet(s), {} entries, {} active holds checked\n",
                               v.getValue<bool>("consistent") ? "consistent" : "NOT CONSISTENT",
                               v.getValue<Poco::Int64>("wallets_checked"),
                               v.getValue<Poco::Int64>("entries_checked"),
                               v.getValue<Poco::Int64>("holds_checked"));
    });
    return r.body->getValue<bool>("consistent") ? 0 : 3;
  } else {
    throw std::invalid_argument("unknown command");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  o.url = env("TOLLGATE_URL", "http://127.0.0.1:8080");
  o.key_file = env("TOLLGATE_ADMIN_KEY_FILE", "/var/lib/tollgate/admin.key");
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--url" && i + 1 < argc) {
      o.url = argv[++i];
    } else if (arg == "--ca-file" && i + 1 < argc) {
      o.ca_file = argv[++i];
    } else if (arg == "--admin-key-file" && i + 1 < argc) {
      o.key_file = argv[++i];
    } else if (arg == "--json") {
      o.json = true;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else {
      o.args.push_back(arg);
    }
  }
  try {
    if (Poco::URI(o.url).getScheme() == "https") tollgate::net::initTlsClient(o.ca_file);
    return run(o);
  } catch (const std::invalid_argument& e) {
    std::cerr << "tollgatectl: " << e.what() << "\n" << kUsage;
    return 2;
  } catch (const Poco::Exception& e) {
    std::cerr << "tollgatectl: " << tollgate::net::describeError(e) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "tollgatectl: " << e.what() << "\n";
    return 1;
  }
}
