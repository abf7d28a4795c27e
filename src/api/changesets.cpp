// dionysus.decrypt_changeset(outbox_id) (README "Changeset encryption"):
// the changeset of an outbox row in clear, for superusers: capture stores
// it encrypted when dionysus.changeset_key is set (personal data at rest,
// as dionysus-rb's crypt_keeper does); the key it was sealed with may be
// the current one or one of dionysus.changeset_previous_keys.
#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "crypto/changeset_cipher.hpp"
#include "extension/guc.hpp"

extern "C" {
#include "miscadmin.h"
#include "utils/errcodes.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
}

#include <openssl/crypto.h>

#include <string>
#include <vector>

using namespace dionysus;
using pg::Error;

DIONYSUS_PG_FUNCTION(dionysus_decrypt_changeset) {
    if (PG_ARGISNULL(0)) throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "outbox_id must not be NULL");
    // the keys are superuser-only: so is what they open, whoever was granted EXECUTE
    if (!pg::guard([] { return superuser(); }))
        throw Error(ERRCODE_INSUFFICIENT_PRIVILEGE, "only superusers can decrypt changesets");
    const int64 id = PG_GETARG_INT64(0);
    std::string plain;
    {
    // (SPI's memory goes with the connection: the result is made after it)
    pg::SpiConnection spi;
    enum { kChangeset, kKeyId, kSealed };
    auto rows = pg::query(
        "SELECT o.changeset::pg_catalog.text, "
        "CASE WHEN o.changeset OPERATOR(pg_catalog.?&) ARRAY['key', 'encrypted'] "
        "  AND (SELECT pg_catalog.count(*) FROM pg_catalog.jsonb_object_keys(o.changeset)) OPERATOR(pg_catalog.=) 2 "
        "  AND pg_catalog.jsonb_typeof(o.changeset OPERATOR(pg_catalog.->) 'key') OPERATOR(pg_catalog.=) 'string' "
        "  AND pg_catalog.jsonb_typeof(o.changeset OPERATOR(pg_catalog.->) 'encrypted') OPERATOR(pg_catalog.=) 'string' "
        "THEN o.changeset OPERATOR(pg_catalog.->>) 'key' END, o.changeset OPERATOR(pg_catalog.->>) 'encrypted' "
        "FROM dionysus.outbox o WHERE o.id = $1::pg_catalog.int8 LIMIT 1",
        {std::to_string(id)});
    if (rows.empty()) throw Error(ERRCODE_UNDEFINED_OBJECT, "outbox row " + std::to_string(id) + " does not exist");
    const auto& r = rows[0];
    if (!r[kChangeset]) PG_RETURN_NULL();
    plain = *r[kChangeset];  // not encrypted: as it is
    if (r[kKeyId] && r[kSealed]) {
        crypto::Key keys[crypto::kMaxPreviousKeys + 1];
        int n = 0;
        if (dionysus_changeset_key && *dionysus_changeset_key && crypto::parse_key(dionysus_changeset_key, &keys[0]))
            n = 1;
        int previous = 0;
        if (crypto::parse_keys(dionysus_changeset_previous_keys, keys + n, crypto::kMaxPreviousKeys, &previous))
            n += previous;
        const crypto::Key* key = nullptr;
        for (int i = 0; i < n && !key; i++)
            if (*r[kKeyId] == keys[i].id) key = &keys[i];
        if (!key)
            throw Error(ERRCODE_UNDEFINED_OBJECT, "changeset key \"" + *r[kKeyId] + "\" is not configured",
                        "", "Set it in dionysus.changeset_key or dionysus.changeset_previous_keys.");
        const std::string aad = "dionysus changeset " + std::to_string(id);
        std::vector<unsigned char> out(r[kSealed]->size() + 1);
        const long len = crypto::open(*key, r[kSealed]->data(), r[kSealed]->size(),
                                      reinterpret_cast<const unsigned char*>(aad.data()), aad.size(), out.data());
        OPENSSL_cleanse(keys, sizeof keys);
        if (len < 0)
            throw Error(ERRCODE_DATA_CORRUPTED, "the changeset of outbox row " + std::to_string(id) +
                                                    " does not decrypt with key \"" + *r[kKeyId] + "\"");
        plain.assign(reinterpret_cast<const char*>(out.data()), static_cast<size_t>(len));
    }
    }
    const char* text = plain.c_str();
    return pg::guard([&] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(text)); });
}
