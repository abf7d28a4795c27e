#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "catalog/relations.hpp"
#include "catalog/declarations.hpp"

#include <stdexcept>

namespace dionysus::catalog {

PartitionKeyKind partition_key_kind(std::string_view stored) {
    if (stored.empty()) return PartitionKeyKind::None;
    if (stored == "c") return PartitionKeyKind::Column;
    if (stored == "f") return PartitionKeyKind::Function;
    throw std::invalid_argument("dionysus.published_models: unknown partition_key_kind '" + std::string(stored) + "'");
}

DependencyKind dependency_kind(std::string_view stored) {
    if (stored == "m") return DependencyKind::HasMany;
    if (stored == "o") return DependencyKind::HasOne;
    throw std::invalid_argument("dionysus.dependencies: unknown kind '" + std::string(stored) + "'");
}

const char* stored(PartitionKeyKind kind) {
    switch (kind) {
        case PartitionKeyKind::Column: return "c";
        case PartitionKeyKind::Function: return "f";
        case PartitionKeyKind::None: break;
    }
    return nullptr;
}

const char* stored(DependencyKind kind) { return kind == DependencyKind::HasMany ? "m" : "o"; }

void require_topic(const std::string& topic) {
    if (!pg::query_value("SELECT 1 FROM " + catalog::topics_table() + " WHERE name = $1", {topic}))
        throw pg::Error(ERRCODE_UNDEFINED_OBJECT, "topic \"" + topic + "\" is not declared", "",
                        "Declare it first with dionysus.declare_topic(namespace, name).");
}

bool has_genesis_replica(const std::string& topic) {
    return pg::query_value("SELECT genesis_replica::text FROM " + catalog::topics_table() + " WHERE name = $1", {topic})
               .value_or("false") == "true";
}

}  // namespace dionysus::catalog
