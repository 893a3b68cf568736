// The daemon's one way to open an outbound HTTP(S) connection: the forwarder and tollgatectl
// today, the Twilio REST and Stripe clients and plugins (through the host table) next.
//
// Poco's defaults are unsafe for a gateway that carries tenants' messages and API keys: the
// default client context does not check the server's host name (any certificate from a trusted
// CA passes for any host, and loopback is exempt unless the mode is VERIFY_STRICT), and its
// invalid-certificate handler prompts on the console. The context here verifies the chain
// against the system CA store (plus an optional private CA file) and the host name, speaks
// TLS 1.2 or newer, and rejects every invalid certificate. initTlsClient() also installs it as
// Poco's default, so code that forgets to pass it gets the same checks, not Poco's.
#pragma once

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/URI.h>

#include <filesystem>
#include <memory>
#include <string>

namespace tollgate::net {

// A new verifying client context trusting the system CA store and, if not empty,
// `extra_ca_file` (PEM). Throws std::runtime_error naming the file if it cannot be loaded.
Poco::Net::Context::Ptr makeTlsClientContext(const std::filesystem::path& extra_ca_file = {});

// Builds the process's context and makes it Poco's default client context, with a handler that
// rejects invalid certificates. Call once at start, before any outbound call; throws as
// makeTlsClientContext does.
void initTlsClient(const std::filesystem::path& extra_ca_file = {});

// The process's context; initTlsClient() with the system store only if nobody called it.
Poco::Net::Context::Ptr tlsClientContext();

// A session to uri's host and port: HTTP for http://, HTTPS with `tls` (null:
// tlsClientContext()) for https://. Throws std::invalid_argument for any other scheme or no host.
std::unique_ptr<Poco::Net::HTTPClientSession> makeSession(const Poco::URI& uri,
                                                          Poco::Net::Context::Ptr tls = nullptr);

// What went wrong on an outbound connection, for a log line or a user: Poco's displayText() and,
// for a refused certificate, why (e.g. "self-signed certificate", or that it names another
// host). Call it in the thread that made the connection.
std::string describeError(const Poco::Exception& e);

}  // namespace tollgate::net
