#include "wire/column_text.hpp"
#include "util/pg_array_literal.hpp"
#include "util/cpp_only_file.hpp"

#include <cstdint>

namespace dionysus::wire {

namespace {

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

bool hex4(std::string_view s, size_t at, uint32_t* v) {
    if (at + 4 > s.size()) return false;
    *v = 0;
    for (size_t i = at; i < at + 4; i++) {
        const char c = s[i];
        *v <<= 4;
        if (c >= '0' && c <= '9') *v |= static_cast<uint32_t>(c - '0');
        else if (c >= 'a' && c <= 'f') *v |= static_cast<uint32_t>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') *v |= static_cast<uint32_t>(c - 'A' + 10);
        else return false;
    }
    return true;
}

// Reads the JSON string at s[*pos] ('"'), its characters into *out;
// *pos after the closing quote. false for what jsonb refuses (\u0000, a
// lone surrogate) or text that is not a JSON string.
bool read_string(std::string_view s, size_t* pos, std::string* out) {
    size_t i = *pos + 1;
    while (i < s.size()) {
        const char c = s[i];
        if (c == '"') {
            *pos = i + 1;
            return true;
        }
        if (c != '\\') {
            *out += c;
            i++;
            continue;
        }
        if (++i >= s.size()) return false;
        switch (s[i]) {
            case '"': *out += '"'; break;
            case '\\': *out += '\\'; break;
            case '/': *out += '/'; break;
            case 'b': *out += '\b'; break;
            case 'f': *out += '\f'; break;
            case 'n': *out += '\n'; break;
            case 'r': *out += '\r'; break;
            case 't': *out += '\t'; break;
            case 'u': {
                uint32_t cp = 0;
                if (!hex4(s, i + 1, &cp) || cp == 0) return false;
                i += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    uint32_t low = 0;
                    if (i + 2 >= s.size() || s[i + 1] != '\\' || s[i + 2] != 'u' || !hex4(s, i + 3, &low) ||
                        low < 0xDC00 || low > 0xDFFF)
                        return false;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    i += 6;
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    return false;
                }
                append_utf8(*out, cp);
                break;
            }
            default: return false;
        }
        i++;
    }
    return false;
}

// A number's text as jsonb prints it back: only plain ones (no exponent,
// no negative zero), which it prints unchanged.
bool read_number(std::string_view s, size_t* pos, std::string* out) {
    size_t i = *pos;
    const size_t start = i;
    if (i < s.size() && s[i] == '-') i++;
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
    bool nonzero = false;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) {
        if (s[i] >= '1' && s[i] <= '9') nonzero = true;
        i++;
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) return false;
    if (s[start] == '-' && !nonzero) return false;  // -0, -0.0: jsonb prints 0
    *out += s.substr(start, i - start);
    *pos = i;
    return true;
}

bool read_literal(std::string_view s, size_t* pos, std::string_view word) {
    if (s.substr(*pos, word.size()) != word) return false;
    *pos += word.size();
    return true;
}

// The JSON array at s[*pos] as an array literal: elements quoted, null
// unquoted, nested arrays as sub-arrays. nested[depth]: whether the
// elements at that depth, in every sub-array, are arrays (1) or values (0):
// never both.
bool read_array(std::string_view s, size_t* pos, std::string* out, int depth, int* nested) {
    if (depth > 6) return false;  // PostgreSQL's MAXDIM
    size_t i = *pos + 1;
    *out += '{';
    for (bool first = true;; first = false) {
        if (i >= s.size()) return false;
        if (s[i] == ']' && first) break;
        if (!first) {
            if (s[i] == ']') break;
            if (s[i] != ',') return false;
            *out += ',';
            if (++i >= s.size()) return false;
        }
        const int is_array = s[i] == '[' ? 1 : 0;
        // ["a",["b"]], [["a"],[["b"]]]: left to jsonb_to_recordset
        if (nested[depth] != -1 && nested[depth] != is_array) return false;
        nested[depth] = is_array;
        std::string element;
        if (s[i] == '"') {
            if (!read_string(s, &i, &element)) return false;
            util::append_quoted_element(*out, element);
        } else if (s[i] == '[') {
            if (i + 1 < s.size() && s[i + 1] == ']') return false;  // [[]]: left to jsonb_to_recordset
            if (!read_array(s, &i, out, depth + 1, nested)) return false;
        } else if (read_literal(s, &i, "null")) {
            *out += "NULL";
        } else if (read_literal(s, &i, "true")) {
            *out += "true";
        } else if (read_literal(s, &i, "false")) {
            *out += "false";
        } else if (read_number(s, &i, &element)) {
            *out += element;
        } else {
            return false;  // an object, or not JSON
        }
    }
    *out += '}';
    *pos = i + 1;
    return true;
}

}  // namespace

bool column_text(std::string_view json, ColumnText kind, std::string* out, bool* is_null) {
    out->clear();
    *is_null = false;
    if (json == "null") {
        *is_null = true;
        return true;
    }
    if (json.empty()) return false;
    if (kind == ColumnText::Json) {
        *out = std::string(json);
        return true;
    }
    size_t pos = 0;
    bool ok = false;
    const char c = json[0];
    if (c == '"') ok = read_string(json, &pos, out);
    else if (c == '[') {
        int nested[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
        ok = kind == ColumnText::Array && read_array(json, &pos, out, 1, nested);
    }
    else if (c == 't') ok = read_literal(json, &pos, "true") && (*out = "true", true);
    else if (c == 'f') ok = read_literal(json, &pos, "false") && (*out = "false", true);
    else if (c == '-' || (c >= '0' && c <= '9')) ok = read_number(json, &pos, out);
    return ok && pos == json.size();
}

}  // namespace dionysus::wire
