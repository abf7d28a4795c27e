// The publisher's database session: whether the extension is there yet,
// and the settings rendering relies on.
#pragma once

namespace dionysus::publisher {

// CREATE EXTENSION dionysus has run in this database (needs a transaction).
bool extension_installed();

// DateStyle ISO, TimeZone UTC, …: the text output wire/json_render.hpp
// expects; asynchronous commit for the published marks; lock_timeout (2 s)
// and statement_timeout (60 s), so one locked table never stalls the worker.
void set_session_formats();

}  // namespace dionysus::publisher
