// What the consumer tells applications after a batch (NOTIFY
// dionysus_consume): dionysus-rb's local_changes of a record, the columns
// whose value the event changed as {"column": [before, after]}, inside a
// payload naming the topic, event, model and synced id.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dionysus::wire {

// Columns of the row `after` (a JSON object, to_json of the row) whose
// value differs from `before` (empty: the row is new, every non-null column
// counts as changed from null): {"name":["old","new"],…} in after's order.
std::string local_changes(std::string_view before, std::string_view after);

// {"topic":…,"event":…,"model":…,"synced_id":<json>,"action":…,"changes":{…}}.
// When that would exceed `limit` bytes (NOTIFY takes under 8000), the
// changes are replaced by the changed column names:
// "changed_columns":[…],"changes_omitted":true; and when even those do not
// fit, by "changes_omitted":true alone; and when even the event name or
// id is too long, the topic alone with "truncated":true.
// `with_values` false: "changed_columns" only, whatever the size (what a
// LISTENer without the right to read the target may see).
std::string consume_notification(std::string_view topic, std::string_view event, std::string_view model,
                                 std::string_view synced_id_json, std::string_view action,
                                 std::string_view changes_json, size_t limit, bool with_values = true);

}  // namespace dionysus::wire
