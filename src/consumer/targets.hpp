// Where a consumed model's records go (README "Consumer"): the table
// dionysus.consume_model declared for it, else the table its name gives by
// convention (Rental -> rentals, in dionysus.consumer_schema), with what
// the applier needs to know of it: its columns and their types, the
// mapping, the soft-delete strategy, the sideload options. Read from the
// catalogs once per batch (declarations are transactional: a batch sees
// one state of them).
#pragma once

extern "C" {
#include "postgres.h"
}

#include "wire/column_text.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dionysus::consumer {

struct TargetColumn {
    std::string name;
    std::string type_sql;  // format_type(): a type name SQL reads whatever the search_path
    // How its values can reach SQL as text (wire/column_text.hpp), and the
    // cast from that text giving what the type's input function gives
    // (varchar(n) read as varchar: a cast would cut, the assignment fails
    // as the input function does); no value: only jsonb_to_recordset.
    std::optional<wire::ColumnText> text;
    std::string text_cast;  // e.g. "::numeric(10,2)", "::pg_catalog.jsonb::json"
    // varchar(n): n. A longer value (trailing spaces the assignment would
    // cut) goes through jsonb_to_recordset, so unchanged rows compare equal.
    int max_chars = -1;
};

struct Target {
    Oid relid = InvalidOid;
    std::string qualified;  // "schema"."table", quoted
    Oid owner = InvalidOid;
    std::vector<TargetColumn> columns;  // assignable ones (not generated, not dropped)
    std::map<std::string, std::string> remote_to_local;  // mapping reversed: remote attribute -> local column
    std::optional<std::string> soft_delete_strategy;    // schema-qualified function name
    std::optional<std::string> strategy_problem;        // declared, but gone or no longer the owner's
    bool remove_unlisted = true;
    bool destroy_with_parent = true;

    const TargetColumn* column(const std::string& name) const;
    bool has(const std::string& name) const { return column(name) != nullptr; }
    // The local column an attribute of the record goes to (mapping applied;
    // nullptr when the target has none of that name).
    const TargetColumn* destination(const std::string& attribute) const;
    // Which column tells when the row was last synced: synced_updated_at,
    // else synced_created_at, else none ("").
    std::string synced_at;
};

// The targets of this batch, by model name (nullptr: records skipped).
class Targets {
public:
    const Target* for_model(const std::string& model_name);

private:
    std::map<std::string, std::unique_ptr<Target>> cache_;
};

}  // namespace dionysus::consumer
