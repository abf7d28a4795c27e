#include "pg/boundary.hpp"
#include "publisher/model_cache.hpp"
#include "catalog/relations.hpp"

extern "C" {
#include "utils/inval.h"
}

#include <map>
#include <set>
#include <utility>

namespace dionysus::publisher {

namespace {

// Invariants: `models` holds only models loaded since the last reset;
// `watched` holds the catalog tables and every table of every cached model;
// `stale` is set by the relcache callback when one of them changed, and the
// next reset_model_cache() empties both.
std::map<std::pair<std::string, std::string>, std::optional<Model>> models;  // (topic, model name)
std::set<Oid> watched;  // read by the callback: no allocation there
bool stale = true;
bool callback_registered = false;

void invalidate(Datum, Oid relid) {
    if (relid == InvalidOid || watched.count(relid)) stale = true;
}

}  // namespace

void forget_model_cache() { stale = true; }

void reset_model_cache() {
    if (!callback_registered) {
        pg::guard([] { CacheRegisterRelcacheCallback(invalidate, (Datum)0); });
        callback_registered = true;
    }
    if (!stale) return;
    models.clear();
    watched.clear();
    // Declarations (publish, unpublish, serializer…) invalidate dionysus.models.
    for (const char* table : {"models", "serializers", "topics", "dependencies"}) {
        Oid relid = catalog::dionysus_relid(table);
        if (OidIsValid(relid)) watched.insert(relid);
    }
    stale = false;
}

const std::optional<Model>& cached_model(const std::string& topic, const std::string& model_name) {
    auto key = std::make_pair(topic, model_name);
    auto it = models.find(key);
    if (it == models.end()) {
        it = models.emplace(key, load_model(topic, model_name)).first;
        if (it->second) watched.insert(it->second->tables.begin(), it->second->tables.end());
    }
    return it->second;
}

}  // namespace dionysus::publisher
