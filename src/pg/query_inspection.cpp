#include "pg/query_inspection.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "executor/spi.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/plancache.h"
}

namespace dionysus::pg {

namespace {

// Plain C, filled inside the guard (palloc'd arrays, no C++ allocation).
struct Collected {
    Oid* functions;
    int nfunctions, capacity;
};

bool collect_function(Oid function, void* context) {
    auto* c = static_cast<Collected*>(context);
    if (c->nfunctions == c->capacity) {
        c->capacity *= 2;
        c->functions = static_cast<Oid*>(repalloc(c->functions, sizeof(Oid) * c->capacity));
    }
    c->functions[c->nfunctions++] = function;
    return false;
}

bool collect_walker(Node* node, void* context);
// The walkers take C's prototype-less function type (through void(*)(),
// which -Wcast-function-type accepts).
bool (*const kCollectWalker)() = reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(collect_walker));

bool collect_walker(Node* node, void* context) {
    if (node == nullptr) return false;
    (void)check_functions_in_node(node, collect_function, context);
    if (IsA(node, Query)) return query_tree_walker(reinterpret_cast<Query*>(node), kCollectWalker, context, 0);
    return expression_tree_walker(node, kCollectWalker, context);
}

}  // namespace

QueryInspection inspect_query(const std::string& sql, Oid param_type) {
    struct Found {
        bool plain_select;
        int ncolumns, nrelations;
        Oid* columns;
        Oid* relations;
        Collected functions;
    } found{};
    Found* out = &found;
    const char* text = sql.c_str();
    guard([&] {
        Oid params[1] = {param_type};
        SPIPlanPtr plan = SPI_prepare(text, 1, params);
        if (!plan) elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
        List* sources = SPI_plan_get_plan_sources(plan);
        out->functions.capacity = 16;
        out->functions.functions = static_cast<Oid*>(palloc(sizeof(Oid) * 16));
        if (list_length(sources) == 1) {
            auto* source = static_cast<CachedPlanSource*>(linitial(sources));
            TupleDesc desc = source->resultDesc;
            out->ncolumns = desc ? desc->natts : 0;
            out->columns = static_cast<Oid*>(palloc(sizeof(Oid) * (out->ncolumns + 1)));
            for (int i = 0; i < out->ncolumns; i++) out->columns[i] = TupleDescAttr(desc, i)->atttypid;
            out->plain_select = source->commandTag == CMDTAG_SELECT && list_length(source->query_list) == 1;
            ListCell* lc;
            foreach (lc, source->query_list) {
                Query* query = lfirst_node(Query, lc);
                if (query->commandType != CMD_SELECT || query->hasModifyingCTE || query->rowMarks != NIL)
                    out->plain_select = false;
                (void)query_tree_walker(query, kCollectWalker, &out->functions, 0);
            }
            out->nrelations = list_length(source->relationOids);
            out->relations = static_cast<Oid*>(palloc(sizeof(Oid) * (out->nrelations + 1)));
            int i = 0;
            foreach (lc, source->relationOids) out->relations[i++] = lfirst_oid(lc);
        }
        SPI_freeplan(plan);
    });
    QueryInspection inspection;
    inspection.plain_select = found.plain_select;
    inspection.result_types.assign(found.columns, found.columns + found.ncolumns);
    inspection.relations.assign(found.relations, found.relations + found.nrelations);
    inspection.functions.assign(found.functions.functions, found.functions.functions + found.functions.nfunctions);
    return inspection;
}

namespace {

bool has_param_ref(Node* node, void* context) {
    if (node == nullptr) return false;
    if (IsA(node, ParamRef)) return true;
    return raw_expression_tree_walker(node, reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(has_param_ref)),
                                      context);
}

}  // namespace

bool is_plain_where_condition(const std::string& sql) {
    const char* text = sql.c_str();
    return guard([&] {
        List* statements = raw_parser(text, RAW_PARSE_DEFAULT);
        if (list_length(statements) != 1) return false;
        Node* node = linitial_node(RawStmt, statements)->stmt;
        if (!IsA(node, SelectStmt)) return false;
        auto* select = reinterpret_cast<SelectStmt*>(node);
        return select->op == SETOP_NONE && select->targetList == NIL && select->distinctClause == NIL &&
               select->intoClause == nullptr && list_length(select->fromClause) == 1 &&
               select->whereClause != nullptr && select->groupClause == NIL && select->havingClause == nullptr &&
               select->windowClause == NIL && select->valuesLists == NIL && select->sortClause == NIL &&
               select->limitOffset == nullptr && select->limitCount == nullptr && select->lockingClause == NIL &&
               select->withClause == nullptr && !has_param_ref(select->whereClause, nullptr);
    });
}

}  // namespace dionysus::pg
