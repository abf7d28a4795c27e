#include "pg/boundary.hpp"
#include "publisher/model_cache.hpp"
#include "catalog/relations.hpp"

extern "C" {
#include "utils/inval.h"
#include "utils/syscache.h"
}

#include <algorithm>
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
// Invalidations that arrive while a model loads (each first lock of a
// catalog table processes them) name tables not watched yet: noted here,
// in fixed space, and checked against the loaded model's tables.
constexpr int kMaxSeenDuringLoad = 64;
bool loading = false;
Oid seen_during_load[kMaxSeenDuringLoad];
int nseen = 0;
bool seen_overflow = false;

// A function changed (body, owner): models call serializer and partition-key
// functions as their owner, so reload them all (functions change rarely).
void invalidate_functions(Datum, int, uint32) { stale = true; }

void invalidate(Datum, Oid relid) {
    if (relid == InvalidOid || watched.count(relid)) stale = true;
    if (!loading) return;
    if (relid == InvalidOid || nseen == kMaxSeenDuringLoad) seen_overflow = true;
    else seen_during_load[nseen++] = relid;
}

// The model, with every table it renders watched from now on; stale at once
// when one of them changed while it loaded.
std::optional<Model> load_and_watch(const std::string& topic, const std::string& model_name) {
    loading = true;
    nseen = 0;
    seen_overflow = false;
    std::optional<Model> model;
    try {
        model = load_model(topic, model_name);
    } catch (...) {
        loading = false;
        throw;
    }
    loading = false;
    if (!model) return model;
    watched.insert(model->tables.begin(), model->tables.end());
    bool changed = seen_overflow;
    for (int i = 0; i < nseen && !changed; i++)
        changed = std::find(model->tables.begin(), model->tables.end(), seen_during_load[i]) != model->tables.end();
    if (changed) stale = true;  // used for this batch, reloaded at the next cycle
    return model;
}

}  // namespace

void forget_model_cache() { stale = true; }

void reset_model_cache() {
    if (!callback_registered) {
        pg::guard([] {
            CacheRegisterRelcacheCallback(invalidate, (Datum)0);
            CacheRegisterSyscacheCallback(PROCOID, invalidate_functions, (Datum)0);
        });
        callback_registered = true;
    }
    if (!stale) return;
    models.clear();
    watched.clear();
    // Declarations (publish, unpublish, serializer…) invalidate dionysus.models.
    for (const char* table : {catalog::models_relname(), "serializers", catalog::topics_relname(), "dependencies"}) {
        Oid relid = catalog::dionysus_relid(table);
        if (OidIsValid(relid)) watched.insert(relid);
    }
    stale = false;
}

const std::optional<Model>& cached_model(const std::string& topic, const std::string& model_name) {
    auto key = std::make_pair(topic, model_name);
    auto it = models.find(key);
    if (it == models.end()) it = models.emplace(key, load_and_watch(topic, model_name)).first;
    return it->second;
}

}  // namespace dionysus::publisher
