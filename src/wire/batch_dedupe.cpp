#include "wire/batch_dedupe.hpp"
#include "util/cpp_only_file.hpp"

#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <map>
#include <string>

namespace dionysus::wire {

namespace {

// Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// "2024-05-01T10:00:00.000Z", "2024-05-01 10:00:00+02:00", … -> seconds since
// the epoch; nullopt when it is not such a time (then it counts as newest).
std::optional<double> parse_iso8601_seconds(std::string_view t) {
    auto digits = [&](size_t pos, size_t n, int& out) {
        if (pos + n > t.size()) return false;
        out = 0;
        for (size_t i = pos; i < pos + n; i++) {
            if (t[i] < '0' || t[i] > '9') return false;
            out = out * 10 + (t[i] - '0');
        }
        return true;
    };
    int y, mo, d, h, mi, sec;
    if (!digits(0, 4, y) || t.size() < 19 || t[4] != '-' || !digits(5, 2, mo) || t[7] != '-' || !digits(8, 2, d) ||
        (t[10] != 'T' && t[10] != ' ') || !digits(11, 2, h) || t[13] != ':' || !digits(14, 2, mi) || t[16] != ':' ||
        !digits(17, 2, sec) || mo < 1 || mo > 12 || d < 1 || d > 31)
        return std::nullopt;
    size_t pos = 19;
    double fraction = 0, scale = 0.1;
    if (pos < t.size() && t[pos] == '.') {
        pos++;
        while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') fraction += (t[pos++] - '0') * scale, scale /= 10;
    }
    int offset = 0;
    if (pos < t.size() && (t[pos] == 'Z' || t[pos] == 'z')) {
        pos++;
    } else if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) {
        int oh, om = 0;
        if (!digits(pos + 1, 2, oh)) return std::nullopt;
        size_t next = pos + 3;
        if (next < t.size() && t[next] == ':') next++;
        if (next < t.size() && digits(next, 2, om)) next += 2;
        offset = (t[pos] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
        pos = next;
    }
    if (pos != t.size()) return std::nullopt;
    return static_cast<double>(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset) + fraction;
}

struct Facts {
    std::string id;   // the record's id as JSON text ("" when absent)
    double updated_at;  // seconds since the epoch; +inf when absent or not a time
};

Facts facts(const std::string& record_json) {
    Facts f{"", std::numeric_limits<double>::infinity()};
    simdjson::dom::parser parser;
    simdjson::padded_string padded(record_json);
    simdjson::dom::element root, v;
    if (parser.parse(padded).get(root) != simdjson::SUCCESS) return f;
    if (root["id"].get(v) == simdjson::SUCCESS) f.id = simdjson::minify(v);
    std::string_view text;
    if (root["updated_at"].get_string().get(text) == simdjson::SUCCESS) {
        if (auto seconds = parse_iso8601_seconds(text)) f.updated_at = *seconds;
    }
    return f;
}

}  // namespace

std::vector<size_t> remove_duplicates(const std::vector<std::vector<ConsumedEvent>>& batch) {
    std::vector<size_t> all(batch.size());
    for (size_t i = 0; i < batch.size(); i++) all[i] = i;
    for (const auto& m : batch)
        if (m.size() != 1 || m[0].records.size() != 1) return all;
    // group key -> (place of the group's first message, the chosen message, its updated_at)
    struct Group {
        size_t first, chosen;
        double updated_at;
    };
    std::map<std::string, Group> groups;
    std::vector<std::string> order;  // group keys by first appearance
    for (size_t i = 0; i < batch.size(); i++) {
        const Facts f = facts(batch[i][0].records[0]);
        // Ruby's [event, id].join: the event name, then the id's text (a string id without quotes)
        std::string id = f.id;
        if (id.size() >= 2 && id.front() == '"' && id.back() == '"') id = id.substr(1, id.size() - 2);
        if (id == "null") id.clear();
        const std::string key = batch[i][0].event + '\x1f' + id;
        auto it = groups.find(key);
        if (it == groups.end()) {
            groups.emplace(key, Group{i, i, f.updated_at});
            order.push_back(key);
        } else if (f.updated_at > it->second.updated_at) {
            it->second.chosen = i;
            it->second.updated_at = f.updated_at;
        }
    }
    std::vector<size_t> out;
    for (const auto& key : order) out.push_back(groups.at(key).chosen);
    return out;
}

}  // namespace dionysus::wire
