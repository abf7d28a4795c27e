// The extension's own catalog (dionysus.topics, models, dependencies,
// serializers; see sql/install/10_catalog.sql): how its coded columns read
// as C++ enums, and the lookups shared by the SQL functions and the workers.
// Lookups need an SPI connection.
#pragma once

#include <string>
#include <string_view>

namespace dionysus::catalog {

// dionysus.models.partition_key_kind: how an event's partition key is found.
enum class PartitionKeyKind : char {
    None = 0,          // NULL: the message key is partitioned
    Column = 'c',      // partition_key names a column of the model's table
    Function = 'f',    // partition_key is a function f(row) -> text (regprocedure text)
};

// dionysus.dependencies.kind: which way the foreign key between a model
// and its dependency points.
enum class DependencyKind : char {
    HasMany = 'm',  // dependency.column references the model's primary key
    HasOne = 'o',   // model.column references the dependency's primary key
};

// From the column's text ("" for NULL); throws std::invalid_argument for a
// code this version does not know.
PartitionKeyKind partition_key_kind(std::string_view stored);
DependencyKind dependency_kind(std::string_view stored);
// The column's text for a kind (nullptr for PartitionKeyKind::None: NULL).
const char* stored(PartitionKeyKind kind);
const char* stored(DependencyKind kind);

// 42704 unless the topic is declared.
void require_topic(const std::string& topic);

// Whether the topic's events also go to <topic>_genesis.
bool has_genesis_replica(const std::string& topic);

}  // namespace dionysus::catalog
