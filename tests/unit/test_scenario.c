/* core/scenario: the JSON scenario parser (every error path, with exact
 * messages), count expansion, fault ordering and checks, ${node.addr}
 * resolution, trace lines and fields, expectation windows and counts,
 * and the real files under scenarios/ (read here: core does no file I/O). */
#include <dirent.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_check.h"
#include "scenario/mc_scenario.h"

static char err[1024];

/* Test JSON uses ' for " so it stays readable in C strings. */
static char *q(const char *s)
{
    char *d = strdup(s);
    for (char *c = d; *c; c++)
        if (*c == '\'')
            *c = '"';
    return d;
}

static mc_status_t parse_q(const char *sq, mc_scenario_t *s)
{
    char *j = q(sq);
    mc_status_t st = mc_scenario_parse(j, strlen(j), "t.json", s, err, sizeof err);
    free(j);
    return st;
}

/* Parse must fail; returns the message. The output must be left empty. */
static const char *perr(const char *sq)
{
    mc_scenario_t s;
    ck_assert_int_eq(parse_q(sq, &s), MC_INVALID_PARAMS);
    ck_assert_ptr_null(s.nodes);
    ck_assert_ptr_null(s.faults);
    ck_assert_ptr_null(s.name);
    ck_assert_uint_eq(s.nnodes, 0);
    return err;
}

static void pok(const char *sq, mc_scenario_t *s)
{
    err[0] = '\0';
    mc_status_t st = parse_q(sq, s);
    ck_assert_msg(st == MC_OK, "parse failed: %s", err);
}

#define HEAD "'name':'t','duration':'10s'"
#define NODES "'nodes':[{'name':'master','role':'m'},{'name':'c','count':3,'role':'cl'}]"
#define BASE HEAD "," NODES

#define ERR(json, msg) ck_assert_str_eq(perr(json), msg)

START_TEST(test_minimal_defaults)
{
    mc_scenario_t s;
    pok("{" BASE "}", &s);
    ck_assert_str_eq(s.name, "t");
    ck_assert_str_eq(s.description, "");
    ck_assert_str_eq(s.file, "t.json");
    ck_assert_uint_eq(s.duration_ns, 10000000000ULL);
    ck_assert_uint_eq(s.seed, 1);
    ck_assert_uint_eq(s.net.latency_ns, 50000);
    ck_assert_uint_eq(s.net.jitter_ns, 0);
    ck_assert_uint_eq(s.net.bandwidth_bps, 0);
    ck_assert(s.net.loss == 0 && s.net.dup == 0 && s.net.reorder == 0);
    ck_assert_uint_eq(s.nnodes, 4);
    ck_assert_str_eq(s.nodes[0].name, "master");
    ck_assert_str_eq(s.nodes[0].role, "m");
    ck_assert_uint_eq(s.nodes[0].nics, 1);
    ck_assert_uint_eq(s.nodes[0].start_ns, 0);
    ck_assert_str_eq(s.nodes[1].name, "c1");
    ck_assert_str_eq(s.nodes[3].name, "c3");
    ck_assert_str_eq(s.nodes[3].role, "cl");
    ck_assert_uint_eq(s.nfaults, 0);
    ck_assert_uint_eq(s.ncmds, 0);
    ck_assert_uint_eq(s.nexpects, 0);
    ck_assert_ptr_eq(mc_scenario_node(&s, "c2"), &s.nodes[2]);
    ck_assert_ptr_null(mc_scenario_node(&s, "c4"));
    ck_assert(!s.resolved);
    mc_scenario_free(&s);
    mc_scenario_free(&s); /* idempotent on a freed (zeroed) scenario */
}
END_TEST

START_TEST(test_full_example)
{
    mc_scenario_t s;
    pok("{'name':'full','description':'d','duration':'40s','seed':7,'comment':'c',"
        "'network':{'latency':'100us','jitter':'20us','bandwidth':'10Gbit','loss':0.01,'dup':0,'reorder':1},"
        "'nodes':[{'name':'master','role':'member_master','conf':{'client_ttl':'10s','n':4096,'f':1.5,"
        "'big':1e20,'b':true,'nb':false,'neg':-3}},"
        "{'name':'c','count':3,'role':'member_client','conf':{'master':'${master.addr}'},'nics':2,'start':'1s'}],"
        "'faults':[{'at':'20s','action':'restart','node':'c1'},{'at':'5s','action':'crash','node':'c1'},"
        "{'at':'5s','action':'pause','node':'c2'},{'at':'18s','action':'resume','node':'c2'},"
        "{'at':'5s','action':'partition','nodes':['c3'],'peers':['master'],'oneway':true},{'at':'9s','action':'heal'},"
        "{'at':'5s','action':'nic_down','node':'c2','nic':1},{'at':'6s','action':'nic_up','node':'c2','nic':1},"
        "{'at':'5s','action':'clock_drift','node':'c3','rate':1.05},{'at':'5s','action':'clock_step','node':'c3','step':'2s'},"
        "{'at':'7s','action':'net','network':{'loss':0.5}},{'at':'6s','action':'net','network':{'latency':'1ms'}}],"
        "'workload':[{'at':'3s','node':'c2','cmd':'get','args':{'key':'k1'}},"
        "{'at':'1s','node':'c1','cmd':'put','args':{'key':'k1','size':'4KiB','n':10},'repeat':10,'every':'100ms'},"
        "{'at':'1s','node':'c3','cmd':'put'}],"
        "'expect':[{'event':'master.client_expired','node':'master','fields':{'client':'c1','n':2},"
        "'between':['14s','17s'],'min':1,'max':1,'kind':'safety','text':'crashed client expires'},"
        "{'event':'client.registered','node':'c1','after':'20s','kind':'liveness'},"
        "{'event':'master.client_expired','fields':{'client':'c2'},'count':0},"
        "{'event':'x','before':'3s','min':0},{'event':'y','max':3}]}",
        &s);
    ck_assert_str_eq(s.description, "d");
    ck_assert_uint_eq(s.seed, 7);
    ck_assert_uint_eq(s.net.latency_ns, 100000);
    ck_assert_uint_eq(s.net.jitter_ns, 20000);
    ck_assert_uint_eq(s.net.bandwidth_bps, 10000000000ULL);
    ck_assert(s.net.loss == 0.01 && s.net.dup == 0 && s.net.reorder == 1);
    /* conf values: numbers without ".0", booleans as words */
    const mc_conf_t *mc = &s.nodes[0].conf;
    ck_assert_str_eq(mc_conf_get(mc, "client_ttl"), "10s");
    ck_assert_str_eq(mc_conf_get(mc, "n"), "4096");
    ck_assert_str_eq(mc_conf_get(mc, "f"), "1.5");
    ck_assert_str_eq(mc_conf_get(mc, "big"), "1e+20");
    ck_assert_str_eq(mc_conf_get(mc, "b"), "true");
    ck_assert_str_eq(mc_conf_get(mc, "nb"), "false");
    ck_assert_str_eq(mc_conf_get(mc, "neg"), "-3");
    ck_assert_uint_eq(s.nnodes, 4);
    for (int i = 1; i <= 3; i++) {
        ck_assert_uint_eq(s.nodes[i].nics, 2);
        ck_assert_uint_eq(s.nodes[i].start_ns, 1000000000ULL);
        ck_assert_str_eq(mc_conf_get(&s.nodes[i].conf, "master"), "${master.addr}");
        ck_assert_uint_eq(s.nodes[i].conf.n, 1);
    }
    /* faults: sorted by time, stable (file order within 5s) */
    static const mc_fault_kind_t kinds[] = {MC_FAULT_CRASH, MC_FAULT_PAUSE, MC_FAULT_PARTITION,
                                            MC_FAULT_NIC_DOWN, MC_FAULT_CLOCK_DRIFT, MC_FAULT_CLOCK_STEP,
                                            MC_FAULT_NIC_UP, MC_FAULT_NET, MC_FAULT_NET, MC_FAULT_HEAL,
                                            MC_FAULT_RESUME, MC_FAULT_RESTART};
    static const size_t idx[] = {1, 2, 4, 6, 8, 9, 7, 11, 10, 5, 3, 0};
    ck_assert_uint_eq(s.nfaults, 12);
    for (size_t i = 0; i < 12; i++) {
        ck_assert_int_eq(s.faults[i].kind, kinds[i]);
        ck_assert_uint_eq(s.faults[i].index, idx[i]);
    }
    ck_assert_uint_eq(s.faults[0].at_ns, 5000000000ULL);
    ck_assert_str_eq(s.faults[0].node, "c1");
    const mc_scn_fault_t *pf = &s.faults[2];
    ck_assert_uint_eq(pf->nnodes, 1);
    ck_assert_str_eq(pf->nodes[0], "c3");
    ck_assert_uint_eq(pf->npeers, 1);
    ck_assert_str_eq(pf->peers[0], "master");
    ck_assert(pf->oneway);
    ck_assert_uint_eq(s.faults[3].nic, 1);
    ck_assert(s.faults[4].rate == 1.05);
    ck_assert_uint_eq(s.faults[5].step_ns, 2000000000ULL);
    /* net faults are cumulative in time order: 6s sets latency, 7s adds loss */
    ck_assert_uint_eq(s.faults[7].at_ns, 6000000000ULL);
    ck_assert_uint_eq(s.faults[7].net.latency_ns, 1000000);
    ck_assert(s.faults[7].net.loss == 0.01);
    ck_assert_uint_eq(s.faults[7].net.bandwidth_bps, 10000000000ULL);
    ck_assert_uint_eq(s.faults[8].net.latency_ns, 1000000);
    ck_assert(s.faults[8].net.loss == 0.5);
    ck_assert(s.faults[8].net.reorder == 1);
    ck_assert_str_eq(mc_fault_kind_name(s.faults[9].kind), "heal");
    ck_assert_uint_eq(s.faults[9].nnodes, 0);
    /* cmds: sorted, stable */
    ck_assert_uint_eq(s.ncmds, 3);
    ck_assert_str_eq(s.cmds[0].node, "c1");
    ck_assert_str_eq(s.cmds[0].cmd, "put");
    ck_assert_uint_eq(s.cmds[0].index, 1);
    ck_assert_uint_eq(s.cmds[0].repeat, 10);
    ck_assert_uint_eq(s.cmds[0].every_ns, 100000000ULL);
    ck_assert_str_eq(mc_conf_get(&s.cmds[0].args, "size"), "4KiB");
    ck_assert_str_eq(mc_conf_get(&s.cmds[0].args, "n"), "10");
    ck_assert_str_eq(s.cmds[1].node, "c3");
    ck_assert_uint_eq(s.cmds[1].repeat, 1);
    ck_assert_uint_eq(s.cmds[1].every_ns, 0);
    ck_assert_uint_eq(s.cmds[1].args.n, 0);
    ck_assert_str_eq(s.cmds[2].cmd, "get");
    ck_assert_uint_eq(s.cmds[2].index, 0);
    /* expects */
    ck_assert_uint_eq(s.nexpects, 5);
    const mc_scn_expect_t *e = &s.expects[0];
    ck_assert_str_eq(e->event, "master.client_expired");
    ck_assert_str_eq(e->node, "master");
    ck_assert_str_eq(mc_conf_get(&e->fields, "client"), "c1");
    ck_assert_str_eq(mc_conf_get(&e->fields, "n"), "2");
    ck_assert_uint_eq(e->from_ns, 14000000000ULL);
    ck_assert_uint_eq(e->to_ns, 17000000000ULL);
    ck_assert_uint_eq(e->min, 1);
    ck_assert_uint_eq(e->max, 1);
    ck_assert_int_eq(e->kind, MC_EXPECT_SAFETY);
    ck_assert_str_eq(e->text, "crashed client expires");
    e = &s.expects[1];
    ck_assert_uint_eq(e->from_ns, 20000000000ULL);
    ck_assert_uint_eq(e->to_ns, MC_SCN_END);
    ck_assert_uint_eq(e->min, 1);
    ck_assert_uint_eq(e->max, UINT64_MAX);
    ck_assert_int_eq(e->kind, MC_EXPECT_LIVENESS);
    ck_assert_str_eq(e->text, "");
    e = &s.expects[2];
    ck_assert_ptr_null(e->node);
    ck_assert_uint_eq(e->min, 0);
    ck_assert_uint_eq(e->max, 0);
    ck_assert_int_eq(e->kind, MC_EXPECT_SAFETY); /* default: an upper bound */
    ck_assert_uint_eq(e->from_ns, 0);
    ck_assert_uint_eq(e->to_ns, MC_SCN_END);
    e = &s.expects[3];
    ck_assert_uint_eq(e->to_ns, 3000000000ULL);
    ck_assert_uint_eq(e->min, 0);
    ck_assert_int_eq(e->kind, MC_EXPECT_SAFETY); /* min 0, no max: nothing required */
    e = &s.expects[4];
    ck_assert_uint_eq(e->min, 1);
    ck_assert_uint_eq(e->max, 3);
    ck_assert_int_eq(e->kind, MC_EXPECT_SAFETY);
    mc_scenario_free(&s);
}
END_TEST

START_TEST(test_err_json)
{
    mc_scenario_t s;
    ck_assert_int_eq(mc_scenario_parse("", 0, "e.json", &s, err, sizeof err), MC_INVALID_PARAMS);
    ck_assert_str_eq(err, "e.json: line 1, column 1: JSON syntax error (unexpected end of input)");
    ck_assert_int_eq(mc_scenario_parse(NULL, 0, NULL, &s, err, sizeof err), MC_INVALID_PARAMS);
    ck_assert_str_eq(err, "<scenario>: line 1, column 1: JSON syntax error (unexpected end of input)");
    ERR("{'name':'t',\n 'duration': '10s'\n 'nodes': []}",
        "t.json: line 3, column 2: JSON syntax error near '\"nodes\": []}'");
    ERR("{'name':'t',\n\n   'x': tru }", "t.json: line 3, column 9: JSON syntax error near 'tru }'");
    ERR("{" BASE "} {}", "t.json: line 1, column 105: JSON syntax error near '{}'");
    ERR("[1]", "t.json: expected a JSON object at the top level, got an array");
    ERR("'x'", "t.json: expected a JSON object at the top level, got a string");
    /* errlen 0 / NULL err: still fails, writes nothing */
    ck_assert_int_eq(mc_scenario_parse("[]", 2, "e", &s, NULL, 0), MC_INVALID_PARAMS);
    char small[8] = "xxxxxxx";
    ck_assert_int_eq(mc_scenario_parse("[]", 2, "e.json", &s, small, sizeof small), MC_INVALID_PARAMS);
    ck_assert_str_eq(small, "e.json:");
    /* a length shorter than the text: only the prefix is parsed */
    ck_assert_int_eq(mc_scenario_parse("{}xxxx", 2, "e", &s, err, sizeof err), MC_INVALID_PARAMS);
    ck_assert_str_eq(err, "e: name: missing (required)");
}
END_TEST

START_TEST(test_err_top)
{
    ERR("{" BASE ",'bogus':1}", "t.json: bogus: unknown key (expected one of: name, description, duration, "
                                "seed, network, nodes, faults, workload, expect, checks, comment)");
    ERR("{" BASE ",'name':'u'}", "t.json: name: duplicate key");
    ERR("{'duration':'1s'," NODES "}", "t.json: name: missing (required)");
    ERR("{'name':''}", "t.json: name: must not be empty");
    ERR("{'name':3}", "t.json: name: expected a string, got a number");
    ERR("{'name':'t','description':null}", "t.json: description: expected a string, got null");
    ERR("{'name':'t'," NODES "}", "t.json: duration: missing (required)");
    ERR("{'name':'t','duration':'0s'}", "t.json: duration: must be greater than 0");
    ERR("{'name':'t','duration':10}",
        "t.json: duration: expected a duration string such as \"5s\" or \"250ms\", got a number");
    ERR("{'name':'t','duration':'-5s'}", "t.json: duration: negative duration '-5s'");
    ERR("{'name':'t','duration':'10'}",
        "t.json: duration: bad duration '10' (expected a number and a unit: ns, us, ms, s, m, h)");
    ERR("{'name':'t','duration':'10 parsecs'}",
        "t.json: duration: bad duration '10 parsecs' (expected a number and a unit: ns, us, ms, s, m, h)");
    ERR("{'name':'t','duration':'nan'}",
        "t.json: duration: bad duration 'nan' (expected a number and a unit: ns, us, ms, s, m, h)");
    ERR("{'name':'t','duration':'0x10s'}",
        "t.json: duration: bad duration '0x10s' (expected a number and a unit: ns, us, ms, s, m, h)");
    ERR("{'name':'t','duration':'1e300h'}",
        "t.json: duration: bad duration '1e300h' (expected a number and a unit: ns, us, ms, s, m, h)");
    ERR("{" HEAD ",'seed':-1}", "t.json: seed: expected a non-negative integer, got -1");
    ERR("{" HEAD ",'seed':1.5}", "t.json: seed: expected a non-negative integer, got 1.5");
    ERR("{" HEAD ",'seed':'abc'}", "t.json: seed: bad seed 'abc' (expected an unsigned integer)");
    ERR("{" HEAD ",'seed':true}", "t.json: seed: expected an integer, got a boolean");
    ERR("{" HEAD "}", "t.json: nodes: missing (required)");
    ERR("{" HEAD ",'nodes':[]}", "t.json: nodes: expected a non-empty array of nodes, got an empty array");
    ERR("{" HEAD ",'nodes':{}}", "t.json: nodes: expected a non-empty array of nodes, got an object");
    ERR("{" BASE ",'faults':{}}", "t.json: faults: expected an array, got an object");
    ERR("{" BASE ",'workload':1}", "t.json: workload: expected an array, got a number");
    ERR("{" BASE ",'expect':'x'}", "t.json: expect: expected an array, got a string");

    mc_scenario_t s;
    pok("{" HEAD ",'seed':'18446744073709551615'," NODES "}", &s);
    ck_assert_uint_eq(s.seed, UINT64_MAX);
    mc_scenario_free(&s);
    pok("{" HEAD ",'seed':0," NODES "}", &s);
    ck_assert_uint_eq(s.seed, 0);
    mc_scenario_free(&s);
}
END_TEST

START_TEST(test_err_network)
{
    ERR("{" BASE ",'network':{'loss':1.5}}", "t.json: network.loss: probability 1.5 is outside [0,1]");
    ERR("{" BASE ",'network':{'dup':-0.1}}", "t.json: network.dup: probability -0.1 is outside [0,1]");
    ERR("{" BASE ",'network':{'reorder':'x'}}",
        "t.json: network.reorder: expected a probability in [0,1], got a string");
    ERR("{" BASE ",'network':{'latency':'1 fortnight'}}",
        "t.json: network.latency: bad duration '1 fortnight' (expected a number and a unit: ns, us, ms, s, m, h)");
    ERR("{" BASE ",'network':{'jitter':'-1us'}}", "t.json: network.jitter: negative duration '-1us'");
    ERR("{" BASE ",'network':{'bandwidth':'10G'}}",
        "t.json: network.bandwidth: bad bandwidth '10G' (expected e.g. \"10Gbit\", \"1Gbps\", \"100Mbit\", "
        "\"1GB/s\"; \"0\" = unlimited)");
    ERR("{" BASE ",'network':{'bandwidth':true}}",
        "t.json: network.bandwidth: bad bandwidth a boolean (expected e.g. \"10Gbit\", \"1Gbps\", \"100Mbit\", "
        "\"1GB/s\"; \"0\" = unlimited)");
    ERR("{" BASE ",'network':{'mtu':1500}}",
        "t.json: network.mtu: unknown key (expected one of: latency, jitter, bandwidth, loss, dup, reorder)");
    ERR("{" BASE ",'network':[]}", "t.json: network: expected an object, got an array");

    mc_scenario_t s;
    pok("{" BASE ",'network':{'bandwidth':1000}}", &s);
    ck_assert_uint_eq(s.net.bandwidth_bps, 1000);
    ck_assert_uint_eq(s.net.latency_ns, 50000); /* default kept */
    mc_scenario_free(&s);
}
END_TEST

START_TEST(test_bandwidth)
{
    static const struct {
        const char *s;
        uint64_t bps;
    } ok[] = {
        {"10Gbit", 10000000000ULL}, {"1Gbps", 1000000000ULL}, {"100Mbit", 100000000ULL},
        {"100Mbit/s", 100000000ULL}, {"1GB/s", 8000000000ULL}, {"1GBps", 8000000000ULL},
        {"1KiB/s", 8192}, {"2Gibit", 2147483648ULL}, {"1.5kbit", 1500}, {"800", 800},
        {"0", 0}, {"100b/s", 100}, {"10B/s", 80}, {"25Tbit", 25000000000000ULL}, {"1e3bit", 1000},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 1;
        ck_assert_msg(mc_parse_bandwidth_bps(ok[i].s, &v), "%s", ok[i].s);
        ck_assert_uint_eq(v, ok[i].bps);
    }
    static const char *const bad[] = {"", "G", "10G", "10Gbits", "-1Gbit", "nan", "inf", "0x10",
                                      "10 Gbit", "10gbit", "1e30Tbit", "Mbit", NULL};
    uint64_t v;
    for (size_t i = 0; bad[i]; i++)
        ck_assert_msg(!mc_parse_bandwidth_bps(bad[i], &v), "%s", bad[i]);
    ck_assert(!mc_parse_bandwidth_bps(NULL, &v));
}
END_TEST

START_TEST(test_err_nodes)
{
    ERR("{" HEAD ",'nodes':[{'name':'a','role':'r','colour':'red'}]}",
        "t.json: nodes[0].colour: unknown key (expected one of: name, role, count, conf, nics, start, comment)");
    ERR("{" HEAD ",'nodes':[3]}", "t.json: nodes[0]: expected an object, got a number");
    ERR("{" HEAD ",'nodes':[{'role':'r'}]}", "t.json: nodes[0].name: missing (required)");
    ERR("{" HEAD ",'nodes':[{'name':'a'}]}", "t.json: nodes[0].role: missing (required)");
    ERR("{" HEAD ",'nodes':[{'name':'a','role':''}]}", "t.json: nodes[0].role: must not be empty");
    ERR("{" HEAD ",'nodes':[{'name':'a.b','role':'r'}]}",
        "t.json: nodes[0].name: bad node name 'a.b' (use 1-64 letters, digits, '_' or '-')");
    ERR("{" HEAD ",'nodes':[{'name':'a b','role':'r'}]}",
        "t.json: nodes[0].name: bad node name 'a b' (use 1-64 letters, digits, '_' or '-')");
    ERR("{" HEAD ",'nodes':[{'name':'a','role':'r'},{'name':'a','role':'r'}]}",
        "t.json: nodes[1].name: duplicate node name 'a'");
    ERR("{" HEAD ",'nodes':[{'name':'c2','role':'r'},{'name':'c','count':3,'role':'r'}]}",
        "t.json: nodes[1].name: duplicate node name 'c2'");
    ERR("{" HEAD ",'nodes':[{'name':'c','role':'r','count':0}]}",
        "t.json: nodes[0].count: 0 is outside [1, 1000000]");
    ERR("{" HEAD ",'nodes':[{'name':'c','role':'r','count':'3'}]}",
        "t.json: nodes[0].count: expected an integer, got a string");
    ERR("{" HEAD ",'nodes':[{'name':'c','role':'r','count':600000},{'name':'d','role':'r','count':600000}]}",
        "t.json: nodes: more than 1000000 nodes");
    ERR("{" HEAD ",'nodes':[{'name':'c','role':'r','nics':0}]}",
        "t.json: nodes[0].nics: 0 is outside [1, 64]");
    ERR("{" HEAD ",'nodes':[{'name':'c','role':'r','start':'11s'}]}",
        "t.json: nodes[0].start: 11s is after the end of the scenario (duration 10s)");
    ERR("{" HEAD ",'nodes':[{'name':'c','role':'r','conf':[]}]}",
        "t.json: nodes[0].conf: expected an object, got an array");
    ERR("{" HEAD ",'nodes':[{'name':'c','role':'r','conf':{'a':[1]}}]}",
        "t.json: nodes[0].conf.a: expected a string, number or boolean, got an array");
    ERR("{" HEAD ",'nodes':[{'name':'c','role':'r','conf':{'a':null}}]}",
        "t.json: nodes[0].conf.a: expected a string, number or boolean, got null");
    ERR("{" HEAD ",'nodes':[{'name':'c','role':'r','conf':{'a':1,'a':2}}]}",
        "t.json: nodes[0].conf.a: duplicate key");
    ERR("{" HEAD ",'nodes':[{'name':'c','role':'r','conf':{'':1}}]}", "t.json: nodes[0].conf.: empty key");
    ERR("{" HEAD ",'nodes':[{'name':'c','role':'r','conf':{'addr':'h:1'}}]}",
        "t.json: nodes[0].conf.addr: reserved: the world assigns every node's address");
    ERR("{" HEAD ",'nodes':[{'name':'c','role':'r','conf':{'m':'${master.addr}'}}]}",
        "t.json: nodes[0].conf.m: unknown node 'master' in '${master.addr}'");
    ERR("{" HEAD ",'nodes':[{'name':'c','role':'r','conf':{'m':'${c.port}'}}]}",
        "t.json: nodes[0].conf.m: unknown property 'port' (expected addr or name) in '${c.port}'");
    ERR("{" HEAD ",'nodes':[{'name':'c','role':'r','conf':{'m':'x${c.addr'}}]}",
        "t.json: nodes[0].conf.m: unterminated '${' in 'x${c.addr'");
    ERR("{" HEAD ",'nodes':[{'name':'c','role':'r','conf':{'m':'${caddr}'}}]}",
        "t.json: nodes[0].conf.m: bad reference '${caddr}' (expected ${<node>.addr} or ${<node>.name}) in "
        "'${caddr}'");
    ERR("{" HEAD ",'nodes':[{'name':'c','role':'r','conf':{'m':'${.addr}'}}]}",
        "t.json: nodes[0].conf.m: bad reference '${.addr}' (expected ${<node>.addr} or ${<node>.name}) in "
        "'${.addr}'");

    /* a reference to a node defined later is fine; "$$" and "$x" are literal */
    mc_scenario_t s;
    pok("{" HEAD ",'nodes':[{'name':'a','role':'r','conf':{'p':'${b2.addr}','q':'$${x} $5 $'}},"
        "{'name':'b','role':'r','count':2}]}",
        &s);
    ck_assert_uint_eq(s.nnodes, 3);
    ck_assert_str_eq(s.nodes[2].name, "b2");
    mc_scenario_free(&s);
}
END_TEST

START_TEST(test_large_objects)
{
    /* duplicate detection stays linear; the last key duplicates the first */
    size_t cap = 200000, len = 0;
    char *j = malloc(cap);
    len += (size_t)snprintf(j + len, cap - len, "{'name':'t','duration':'1s','nodes':[{'name':'a','role':'r','conf':{");
    for (int i = 0; i < 3000; i++)
        len += (size_t)snprintf(j + len, cap - len, "'k%d':%d,", i, i);
    snprintf(j + len, cap - len, "'k0':1}}]}");
    ERR(j, "t.json: nodes[0].conf.k0: duplicate key");
    snprintf(j + len, cap - len, "'last':1}}]}");
    mc_scenario_t s;
    pok(j, &s);
    ck_assert_uint_eq(s.nodes[0].conf.n, 3001);
    ck_assert_str_eq(mc_conf_get(&s.nodes[0].conf, "k2999"), "2999");
    mc_scenario_free(&s);
    free(j);
}
END_TEST

START_TEST(test_err_faults)
{
    ERR("{" BASE ",'faults':[{'at':'1s','action':'explode','node':'c1'}]}",
        "t.json: faults[0].action: unknown action 'explode' (expected one of: crash, restart, pause, resume, "
        "partition, heal, nic_down, nic_up, clock_drift, clock_step, net, xfer_blackhole, xfer_blackhole_off)");
    ERR("{" BASE ",'faults':[{'at':'1s','node':'c1'}]}", "t.json: faults[0].action: missing (required)");
    ERR("{" BASE ",'faults':[{'action':'crash','node':'c1'}]}", "t.json: faults[0].at: missing (required)");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'crash'}]}", "t.json: faults[0].node: missing (required)");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'crash','node':'c1'},{'at':'2s','action':'crash','node':'c9'}]}",
        "t.json: faults[1].node: unknown node 'c9'");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'crash','node':7}]}",
        "t.json: faults[0].node: expected a node name, got a number");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'crash','node':'c1','nic':0}]}",
        "t.json: faults[0].nic: not used by action 'crash'");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'heal','nodes':['c1']}]}",
        "t.json: faults[0].nodes: not used by action 'heal'");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'crash','node':'c1','bogus':0}]}",
        "t.json: faults[0].bogus: unknown key (expected one of: at, action, comment, node, nodes, peers, "
        "oneway, nic, rate, step, network)");
    ERR("{" BASE ",'faults':[{'at':'11s','action':'crash','node':'c1'}]}",
        "t.json: faults[0].at: 11s is after the end of the scenario (duration 10s)");
    ERR("{" BASE ",'faults':[{'at':'-1s','action':'crash','node':'c1'}]}",
        "t.json: faults[0].at: negative duration '-1s'");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'restart','node':'c1'}]}",
        "t.json: faults[0]: restart of 'c1' at 1s, which is not crashed (crash it first)");
    ERR("{" BASE ",'faults':[{'at':'3s','action':'crash','node':'c1'},{'at':'2s','action':'crash','node':'c1'}]}",
        "t.json: faults[0]: crash of 'c1' at 3s, which is already crashed");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'resume','node':'c1'}]}",
        "t.json: faults[0]: resume of 'c1' at 1s, which is not paused");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'pause','node':'c1'},{'at':'2s','action':'pause','node':'c1'}]}",
        "t.json: faults[1]: pause of 'c1' at 2s, which is already paused");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'crash','node':'c1'},{'at':'2s','action':'pause','node':'c1'}]}",
        "t.json: faults[1]: pause of 'c1' at 2s, which is crashed");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'crash','node':'c1'},{'at':'2s','action':'resume','node':'c1'}]}",
        "t.json: faults[1]: resume of 'c1' at 2s, which is not paused");
    ERR("{" HEAD ",'nodes':[{'name':'a','role':'r','start':'5s'}],'faults':[{'at':'1.5s','action':'crash','node':'a'}]}",
        "t.json: faults[0]: crash of 'a' at 1.5s, before it starts (start 5s)");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'partition'}]}", "t.json: faults[0].nodes: missing (required)");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'partition','nodes':[]}]}",
        "t.json: faults[0].nodes: must name at least one node");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'partition','nodes':'c1'}]}",
        "t.json: faults[0].nodes: expected an array of node names, got a string");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'partition','nodes':['c1','c9']}]}",
        "t.json: faults[0].nodes[1]: unknown node 'c9'");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'partition','nodes':['c1','c1']}]}",
        "t.json: faults[0].nodes[1]: node 'c1' listed twice");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'partition','nodes':['c1'],'peers':['c2','c9']}]}",
        "t.json: faults[0].peers[1]: unknown node 'c9'");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'partition','nodes':['c1','c2'],'peers':['master','c2']}]}",
        "t.json: faults[0].peers[1]: node 'c2' is on both sides of the partition");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'partition','nodes':['c1'],'oneway':1}]}",
        "t.json: faults[0].oneway: expected true or false, got a number");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'nic_down','node':'c1','nic':1}]}",
        "t.json: faults[0].nic: node 'c1' has 1 NIC(s), no nic 1");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'nic_up','node':'c1','nic':-1}]}",
        "t.json: faults[0].nic: expected a non-negative integer, got -1");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'clock_drift','node':'c1'}]}",
        "t.json: faults[0].rate: missing (required)");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'clock_drift','node':'c1','rate':0}]}",
        "t.json: faults[0].rate: expected a clock rate > 0 (1.0 = true time)");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'clock_drift','node':'c1','rate':'fast'}]}",
        "t.json: faults[0].rate: expected a clock rate > 0 (1.0 = true time)");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'clock_step','node':'c1'}]}",
        "t.json: faults[0].step: missing (required)");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'clock_step','node':'c1','step':'-2s'}]}",
        "t.json: faults[0].step: negative duration '-2s'");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'net'}]}", "t.json: faults[0].network: missing (required)");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'net','network':{'loss':2}}]}",
        "t.json: faults[0].network.loss: probability 2 is outside [0,1]");
    ERR("{" BASE ",'faults':[[]]}", "t.json: faults[0]: expected an object, got an array");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'crash','node':'c1','node':'c2'}]}",
        "t.json: faults[0].node: duplicate key");

    /* legal sequences: crash a paused node, restart, pause again; nic default 0 */
    mc_scenario_t s;
    pok("{" BASE ",'faults':[{'at':'1s','action':'pause','node':'c1'},{'at':'2s','action':'crash','node':'c1'},"
        "{'at':'3s','action':'restart','node':'c1'},{'at':'4s','action':'pause','node':'c1'},"
        "{'at':'5s','action':'resume','node':'c1'},{'at':'5s','action':'crash','node':'c1'},"
        "{'at':'5s','action':'restart','node':'c1'},{'at':'10s','action':'nic_down','node':'c2'},"
        "{'at':'6s','action':'partition','nodes':['c1'],'peers':[]},{'at':'6s','action':'heal'},{'at':'6s','action':'heal'}]}",
        &s);
    ck_assert_uint_eq(s.nfaults, 11);
    ck_assert_uint_eq(s.faults[10].nic, 0);
    ck_assert_uint_eq(s.faults[10].at_ns, 10000000000ULL);
    ck_assert_uint_eq(s.faults[7].npeers, 0);
    ck_assert(!s.faults[7].oneway);
    mc_scenario_free(&s);
}
END_TEST

START_TEST(test_err_workload)
{
    ERR("{" BASE ",'workload':[{'at':'1s','node':'c9','cmd':'put'}]}", "t.json: workload[0].node: unknown node 'c9'");
    ERR("{" BASE ",'workload':[{'at':'1s','cmd':'put'}]}", "t.json: workload[0].node: missing (required)");
    ERR("{" BASE ",'workload':[{'at':'1s','node':'c1'}]}", "t.json: workload[0].cmd: missing (required)");
    ERR("{" BASE ",'workload':[{'node':'c1','cmd':'put'}]}", "t.json: workload[0].at: missing (required)");
    ERR("{" BASE ",'workload':[{'at':'1s','node':'c1','cmd':'put','rate':3}]}",
        "t.json: workload[0].rate: unknown key (expected one of: at, node, cmd, args, repeat, every, comment)");
    ERR("{" BASE ",'workload':[{'at':'1s','node':'c1','cmd':'put','args':{'k':{}}}]}",
        "t.json: workload[0].args.k: expected a string, number or boolean, got an object");
    ERR("{" BASE ",'workload':[{'at':'1s','node':'c1','cmd':'put','args':{'k':'${nobody.addr}'}}]}",
        "t.json: workload[0].args.k: unknown node 'nobody' in '${nobody.addr}'");
    ERR("{" BASE ",'workload':[{'at':'1s','node':'c1','cmd':'put','repeat':0}]}",
        "t.json: workload[0].repeat: 0 is outside [1, 4294967295]");
    ERR("{" BASE ",'workload':[{'at':'1s','node':'c1','cmd':'put','repeat':11,'every':'1s'}]}",
        "t.json: workload[0].repeat: the last of 11 repeats falls after the end of the scenario (duration 10s)");
    ERR("{" BASE ",'workload':[{'at':'1s','node':'c1','cmd':'put','repeat':4000000000,'every':'1h'}]}",
        "t.json: workload[0].repeat: the last of 4000000000 repeats falls after the end of the scenario "
        "(duration 10s)");
    ERR("{" BASE ",'workload':[{'at':'10.5s','node':'c1','cmd':'put'}]}",
        "t.json: workload[0].at: 10.5s is after the end of the scenario (duration 10s)");
    mc_scenario_t s;
    pok("{" BASE ",'workload':[{'at':'1s','node':'c1','cmd':'put','repeat':10,'every':'1s'},"
        "{'at':'1s','node':'c1','cmd':'x','repeat':1000}]}",
        &s); /* last repeat exactly at the end; a burst needs no spacing */
    mc_scenario_free(&s);
}
END_TEST

START_TEST(test_err_expect)
{
    ERR("{" BASE ",'expect':[{'node':'c1'}]}", "t.json: expect[0].event: missing (required)");
    ERR("{" BASE ",'expect':[{'event':'e','node':'c9'}]}", "t.json: expect[0].node: unknown node 'c9'");
    ERR("{" BASE ",'expect':[{'event':'e','within':['1s','2s']}]}",
        "t.json: expect[0].within: unknown key (expected one of: event, node, fields, between, after, before, "
        "count, min, max, kind, text, comment)");
    ERR("{" BASE ",'expect':[{'event':'e','between':['1s','2s'],'after':'1s'}]}",
        "t.json: expect[0].between: use either between or after/before, not both");
    ERR("{" BASE ",'expect':[{'event':'e','between':['1s']}]}",
        "t.json: expect[0].between: expected [from, to], e.g. [\"10s\", \"13s\"]");
    ERR("{" BASE ",'expect':[{'event':'e','between':'1s'}]}",
        "t.json: expect[0].between: expected [from, to], e.g. [\"10s\", \"13s\"]");
    ERR("{" BASE ",'expect':[{'event':'e','between':['1s',2]}]}",
        "t.json: expect[0].between[1]: expected a duration string such as \"5s\" or \"250ms\", got a number");
    ERR("{" BASE ",'expect':[{'event':'e','between':['3s','2s']}]}",
        "t.json: expect[0].between: window starts at 3s, after it ends at 2s");
    ERR("{" BASE ",'expect':[{'event':'e','after':'3s','before':'2500ms'}]}",
        "t.json: expect[0].after: window starts at 3s, after it ends at 2.5s");
    ERR("{" BASE ",'expect':[{'event':'e','between':['1s','12s']}]}",
        "t.json: expect[0].between[1]: 12s is after the end of the scenario (duration 10s)");
    ERR("{" BASE ",'expect':[{'event':'e','after':'11s'}]}",
        "t.json: expect[0].after: 11s is after the end of the scenario (duration 10s)");
    ERR("{" BASE ",'expect':[{'event':'e','before':'1m'}]}",
        "t.json: expect[0].before: 60s is after the end of the scenario (duration 10s)");
    ERR("{" BASE ",'expect':[{'event':'e','count':1,'max':2}]}",
        "t.json: expect[0].count: use either count or min/max, not both");
    ERR("{" BASE ",'expect':[{'event':'e','min':3,'max':2}]}", "t.json: expect[0].min: min 3 is greater than max 2");
    ERR("{" BASE ",'expect':[{'event':'e','count':-1}]}",
        "t.json: expect[0].count: expected a non-negative integer, got -1");
    ERR("{" BASE ",'expect':[{'event':'e','kind':'vibes'}]}",
        "t.json: expect[0].kind: unknown kind 'vibes' (expected safety or liveness)");
    ERR("{" BASE ",'expect':[{'event':'e','text':5}]}", "t.json: expect[0].text: expected a string, got a number");
    ERR("{" BASE ",'expect':[{'event':'e','fields':{'client':'${c9.name}'}}]}",
        "t.json: expect[0].fields.client: unknown node 'c9' in '${c9.name}'");
    ERR("{" BASE ",'expect':[{'event':'e','fields':[]}]}", "t.json: expect[0].fields: expected an object, got an array");
}
END_TEST

static const char *addr_of(void *ctx, const char *node)
{
    static char buf[64];
    int *calls = ctx;
    (*calls)++;
    if (strcmp(node, "ghost") == 0)
        return NULL;
    snprintf(buf, sizeof buf, "%s:700%zu", node, strlen(node));
    return buf;
}

START_TEST(test_resolve)
{
    mc_scenario_t s;
    pok("{" HEAD ",'nodes':[{'name':'master','role':'m','conf':{'ttl':'5s','me':'${master.name}'}},"
        "{'name':'c','count':2,'role':'cl','conf':{'master':'${master.addr}','x':'[${c1.name}|${c2.addr}]',"
        "'lit':'$${master.addr} costs $5'}}],"
        "'workload':[{'at':'1s','node':'c1','cmd':'ping','args':{'to':'${c2.addr}'}}],"
        "'expect':[{'event':'e','fields':{'peer':'${c1.addr}','who':'${c2.name}'}}]}",
        &s);
    int calls = 0;
    ck_assert_int_eq(mc_scenario_resolve(&s, addr_of, &calls, err, sizeof err), MC_OK);
    ck_assert_int_gt(calls, 0);
    ck_assert(s.resolved);
    ck_assert_str_eq(mc_conf_get(&s.nodes[0].conf, "me"), "master");
    ck_assert_str_eq(mc_conf_get(&s.nodes[0].conf, "addr"), "master:7006");
    ck_assert_str_eq(mc_conf_get(&s.nodes[0].conf, "ttl"), "5s");
    ck_assert_str_eq(mc_conf_get(&s.nodes[1].conf, "master"), "master:7006");
    ck_assert_str_eq(mc_conf_get(&s.nodes[1].conf, "x"), "[c1|c2:7002]");
    ck_assert_str_eq(mc_conf_get(&s.nodes[1].conf, "lit"), "${master.addr} costs $5");
    ck_assert_str_eq(mc_conf_get(&s.nodes[2].conf, "addr"), "c2:7002");
    ck_assert_str_eq(mc_conf_get(&s.cmds[0].args, "to"), "c2:7002");
    ck_assert_str_eq(mc_conf_get(&s.expects[0].fields, "peer"), "c1:7002");
    ck_assert_str_eq(mc_conf_get(&s.expects[0].fields, "who"), "c2");
    /* a second call is a no-op (no double unescaping) */
    calls = 0;
    ck_assert_int_eq(mc_scenario_resolve(&s, addr_of, &calls, err, sizeof err), MC_OK);
    ck_assert_int_eq(calls, 0);
    ck_assert_str_eq(mc_conf_get(&s.nodes[1].conf, "lit"), "${master.addr} costs $5");
    mc_scenario_free(&s);

    /* a node without an address: error, scenario untouched */
    pok("{" HEAD ",'nodes':[{'name':'ghost','role':'m'},{'name':'c','role':'cl','conf':{'m':'${ghost.addr}'}}]}", &s);
    ck_assert_int_eq(mc_scenario_resolve(&s, addr_of, &calls, err, sizeof err), MC_INVALID_PARAMS);
    ck_assert_str_eq(err, "t.json: nodes[ghost]: no address for node 'ghost'");
    ck_assert(!s.resolved);
    ck_assert_str_eq(mc_conf_get(&s.nodes[1].conf, "m"), "${ghost.addr}");
    mc_scenario_free(&s);

    /* programmatic edits after parse are re-checked */
    pok("{" BASE "}", &s);
    mc_conf_set(&s.nodes[1].conf, "m", "${zz.addr}");
    ck_assert_int_eq(mc_scenario_resolve(&s, addr_of, &calls, err, sizeof err), MC_INVALID_PARAMS);
    ck_assert_str_eq(err, "t.json: nodes[c1].conf.m: unknown node 'zz' in '${zz.addr}'");
    mc_conf_set(&s.nodes[1].conf, "m", "${c1.port}");
    ck_assert_int_eq(mc_scenario_resolve(&s, addr_of, &calls, err, sizeof err), MC_INVALID_PARAMS);
    ck_assert_str_eq(err, "t.json: nodes[c1].conf.m: unknown property 'port' (expected addr or name) in '${c1.port}'");
    mc_conf_set(&s.nodes[1].conf, "m", "ok");
    mc_conf_set(&s.nodes[1].conf, "addr", "will be replaced");
    ck_assert_int_eq(mc_scenario_resolve(&s, addr_of, &calls, err, sizeof err), MC_OK);
    ck_assert_str_eq(mc_conf_get(&s.nodes[1].conf, "addr"), "c1:7002");
    mc_scenario_free(&s);
}
END_TEST

START_TEST(test_names_and_durations)
{
    char b[32];
    ck_assert_str_eq(mc_duration_fmt(0, b, sizeof b), "0s");
    ck_assert_str_eq(mc_duration_fmt(7, b, sizeof b), "7ns");
    ck_assert_str_eq(mc_duration_fmt(20000, b, sizeof b), "20us");
    ck_assert_str_eq(mc_duration_fmt(20500, b, sizeof b), "20.5us");
    ck_assert_str_eq(mc_duration_fmt(1500000, b, sizeof b), "1.5ms");
    ck_assert_str_eq(mc_duration_fmt(1000001, b, sizeof b), "1.000001ms");
    ck_assert_str_eq(mc_duration_fmt(14000000000ULL, b, sizeof b), "14s");
    ck_assert_str_eq(mc_duration_fmt(14250000000ULL, b, sizeof b), "14.25s");
    ck_assert_str_eq(mc_duration_fmt(14000000001ULL, b, sizeof b), "14.000000001s");
    ck_assert_str_eq(mc_duration_fmt(UINT64_MAX, b, sizeof b), "18446744073.709551615s");
    for (int k = 0; k < MC_FAULT__COUNT; k++) {
        mc_fault_kind_t back;
        ck_assert(mc_fault_kind_from_name(mc_fault_kind_name((mc_fault_kind_t)k), &back));
        ck_assert_int_eq(back, k);
    }
    mc_fault_kind_t kk;
    ck_assert(!mc_fault_kind_from_name("nope", &kk));
    ck_assert_str_eq(mc_fault_kind_name(MC_FAULT__COUNT), "unknown");
    ck_assert_str_eq(mc_fault_kind_name(MC_FAULT_CLOCK_STEP), "clock_step");
    ck_assert_str_eq(mc_expect_kind_name(MC_EXPECT_SAFETY), "safety");
    ck_assert_str_eq(mc_expect_kind_name(MC_EXPECT_LIVENESS), "liveness");
    mc_net_model_t m;
    mc_net_model_default(&m);
    ck_assert_uint_eq(m.latency_ns, 50000);
}
END_TEST

START_TEST(test_trace_lines)
{
    mc_trace_log_t l;
    mc_trace_log_init(&l);
    ck_assert(mc_trace_parse_line("@trace 15000000000 master master.client_expired client=c1 ttl=5s\n", &l));
    ck_assert(mc_trace_parse_line("@trace 7 c1 client.registered\r\n", &l));
    ck_assert(mc_trace_parse_line("@trace\t8  c2   ev   a=1  b=\"x y\"  \n", &l));
    ck_assert(mc_trace_parse_line("@trace 18446744073709551615 n e", &l));
    static const char *const bad[] = {"", "@trace", "@trace ", "@trace 12", "@trace 12 ", "@trace 12 node",
                                      "@trace 12 node ", "@trace x node ev", "@trace -1 node ev",
                                      "@trace 12x node ev", "@tracex 1 n e", "trace 1 n e", " @trace 1 n e",
                                      "@trace 18446744073709551616 n e", "[info] hello", NULL};
    for (size_t i = 0; bad[i]; i++)
        ck_assert_msg(!mc_trace_parse_line(bad[i], &l), "%s", bad[i]);
    ck_assert(!mc_trace_parse_line(NULL, &l));
    ck_assert_uint_eq(l.n, 4);
    ck_assert_uint_eq(l.recs[0].t_ns, 15000000000ULL);
    ck_assert_str_eq(l.recs[0].node, "master");
    ck_assert_str_eq(l.recs[0].event, "master.client_expired");
    ck_assert_str_eq(l.recs[0].fields, "client=c1 ttl=5s");
    ck_assert_str_eq(l.recs[1].node, "c1");
    ck_assert_str_eq(l.recs[1].event, "client.registered");
    ck_assert_str_eq(l.recs[1].fields, "");
    ck_assert_uint_eq(l.recs[2].t_ns, 8);
    ck_assert_str_eq(l.recs[2].node, "c2");
    ck_assert_str_eq(l.recs[2].event, "ev");
    ck_assert_str_eq(l.recs[2].fields, "a=1  b=\"x y\"");
    ck_assert_uint_eq(l.recs[3].t_ns, UINT64_MAX);

    /* format -> parse round trip */
    char line[128];
    ck_assert_int_eq(mc_trace_fmt_line(line, sizeof line, 42, "c3", "client.master_lost", "why=eof"), 39);
    ck_assert_str_eq(line, "@trace 42 c3 client.master_lost why=eof");
    ck_assert(mc_trace_parse_line(line, &l));
    mc_trace_fmt_line(line, sizeof line, 43, "c3", "x", "");
    ck_assert_str_eq(line, "@trace 43 c3 x");
    mc_trace_fmt_line(line, sizeof line, 44, "c3", "y", NULL);
    ck_assert_str_eq(line, "@trace 44 c3 y");
    ck_assert(mc_trace_parse_line(line, &l));
    ck_assert_uint_eq(l.n, 6);
    ck_assert_str_eq(l.recs[4].fields, "why=eof");

    mc_trace_log_add(&l, 1, NULL, NULL, NULL);
    ck_assert_str_eq(l.recs[6].node, "");
    for (int i = 0; i < 1000; i++) /* grows */
        mc_trace_log_add(&l, (uint64_t)i, "n", "e", "k=v");
    ck_assert_uint_eq(l.n, 1007);
    ck_assert_str_eq(l.recs[1006].fields, "k=v");
    mc_trace_log_free(&l);
    ck_assert_uint_eq(l.n, 0);
    ck_assert_ptr_null(l.recs);
    mc_trace_log_free(&l);
}
END_TEST

START_TEST(test_trace_fields)
{
    const char *f = "client=c1 bare ttl=5s empty= q=\"a b\" esc=\"say \\\"hi\\\" \\\\ok\" cl=x last=end";
    char b[64];
    ck_assert(mc_trace_field(f, "client", b, sizeof b));
    ck_assert_str_eq(b, "c1");
    ck_assert(mc_trace_field(f, "ttl", b, sizeof b));
    ck_assert_str_eq(b, "5s");
    ck_assert(mc_trace_field(f, "empty", b, sizeof b));
    ck_assert_str_eq(b, "");
    ck_assert(mc_trace_field(f, "q", b, sizeof b));
    ck_assert_str_eq(b, "a b");
    ck_assert(mc_trace_field(f, "esc", b, sizeof b));
    ck_assert_str_eq(b, "say \"hi\" \\ok");
    ck_assert(mc_trace_field(f, "last", b, sizeof b));
    ck_assert_str_eq(b, "end");
    ck_assert(mc_trace_field(f, "cl", b, sizeof b));
    ck_assert_str_eq(b, "x");
    ck_assert(!mc_trace_field(f, "bare", b, sizeof b));
    ck_assert(!mc_trace_field(f, "c", b, sizeof b));
    ck_assert(!mc_trace_field(f, "lient", b, sizeof b));
    ck_assert(!mc_trace_field(f, "nope", b, sizeof b));
    ck_assert(!mc_trace_field("", "a", b, sizeof b));
    ck_assert(!mc_trace_field(NULL, "a", b, sizeof b));
    char tiny[3];
    ck_assert(mc_trace_field("ttl=5s", "ttl", tiny, 3)); /* "5s" + NUL fits in 3... */
    ck_assert_str_eq(tiny, "5s");
    ck_assert(!mc_trace_field("ttl=10s", "ttl", tiny, 3)); /* ...but "10s" does not */
    ck_assert(!mc_trace_field("q=\"unterminated", "x", b, sizeof b));
    ck_assert(mc_trace_field("q=\"unterminated", "q", b, sizeof b));
    ck_assert_str_eq(b, "unterminated");

    ck_assert(mc_trace_field_eq(f, "client", "c1"));
    ck_assert(!mc_trace_field_eq(f, "client", "c"));
    ck_assert(!mc_trace_field_eq(f, "client", "c12"));
    ck_assert(mc_trace_field_eq(f, "q", "a b"));
    ck_assert(mc_trace_field_eq(f, "esc", "say \"hi\" \\ok"));
    ck_assert(mc_trace_field_eq(f, "empty", ""));
    ck_assert(!mc_trace_field_eq(f, "bare", ""));
    ck_assert(!mc_trace_field_eq(NULL, "a", ""));
    ck_assert(mc_trace_field_eq("a=1 a=2", "a", "1")); /* first wins */
}
END_TEST

START_TEST(test_expect_check)
{
    mc_scenario_t s;
    pok("{'name':'t','duration':'40s','nodes':[{'name':'master','role':'m'},{'name':'c','count':3,'role':'cl'}],"
        "'expect':[{'event':'master.client_expired','node':'master','fields':{'client':'c1'},'between':['14s','17s'],"
        "'count':1,'kind':'safety','text':'crashed client expires after the TTL'},"
        "{'event':'client.registered','node':'c1','after':'20s','kind':'liveness'},"
        "{'event':'master.client_expired','fields':{'client':'c2'},'count':0},"
        "{'event':'client.registered','min':2,'max':3,'text':'some'},"
        "{'event':'tick','between':['1s','2s'],'count':2}]}",
        &s);
    mc_trace_log_t l;
    mc_trace_log_init(&l);
    mc_expect_result_t r[5];
    /* empty log: everything but the count-0 expectation fails */
    ck_assert_uint_eq(mc_expect_check(&s, &l, 40000000000ULL, r), 4);
    ck_assert(!r[0].ok);
    ck_assert_int_eq(r[0].kind, MC_EXPECT_SAFETY);
    ck_assert_uint_eq(r[0].count, 0);
    ck_assert_str_eq(r[0].msg, "FAIL [safety] crashed client expires after the TTL: expected 1..1 of "
                               "master.client_expired{client=c1} on master in [14s,17s], saw 0");
    ck_assert_str_eq(r[1].msg, "FAIL [liveness] expected 1..inf of client.registered on c1 in [20s,end], saw 0");
    ck_assert_int_eq(r[1].kind, MC_EXPECT_LIVENESS);
    ck_assert(r[2].ok);
    ck_assert_str_eq(r[2].msg, "ok [safety] expected 0..0 of master.client_expired{client=c2} in [0s,end], saw 0");
    ck_assert_str_eq(r[3].msg, "FAIL [safety] some: expected 2..3 of client.registered in [0s,end], saw 0");

    /* windows are inclusive at both ends; node and field filters apply */
    mc_trace_log_add(&l, 13999999999ULL, "master", "master.client_expired", "client=c1");
    mc_trace_log_add(&l, 14000000000ULL, "master", "master.client_expired", "client=c1 ttl=5s");
    mc_trace_log_add(&l, 17000000000ULL, "c1", "master.client_expired", "client=c1"); /* wrong node */
    mc_trace_log_add(&l, 17000000000ULL, "master", "master.client_expired", "client=c11"); /* wrong field */
    mc_trace_log_add(&l, 17000000001ULL, "master", "master.client_expired", "client=c1");
    mc_trace_log_add(&l, 25000000000ULL, "c1", "client.registered", "");
    mc_trace_log_add(&l, 20000000000ULL, "c1", "client.registered", ""); /* unsorted is fine */
    mc_trace_log_add(&l, 19999999999ULL, "c1", "client.registered", "");
    mc_trace_log_add(&l, 1000000000ULL, "c2", "tick", "");
    mc_trace_log_add(&l, 2000000000ULL, "c3", "tick", "");
    ck_assert_uint_eq(mc_expect_check(&s, &l, 40000000000ULL, r), 0);
    for (int i = 0; i < 5; i++)
        ck_assert_msg(r[i].ok, "%s", r[i].msg);
    ck_assert_str_eq(r[0].msg, "ok [safety] crashed client expires after the TTL: expected 1..1 of "
                               "master.client_expired{client=c1} on master in [14s,17s], saw 1");
    ck_assert_uint_eq(r[1].count, 2);
    ck_assert_uint_eq(r[3].count, 3);
    ck_assert_str_eq(r[4].msg, "ok [safety] expected 2..2 of tick in [1s,2s], saw 2");

    /* end_ns bounds open windows: a run cut at 22s misses the 25s event */
    ck_assert_uint_eq(mc_expect_check(&s, &l, 22000000000ULL, r), 0);
    ck_assert_uint_eq(r[1].count, 1);
    ck_assert_uint_eq(mc_expect_check(&s, &l, 19000000000ULL, r), 2); /* and r[3] */
    ck_assert_str_eq(r[1].msg, "FAIL [liveness] expected 1..inf of client.registered on c1 in [20s,end], saw 0");

    /* too many */
    mc_trace_log_add(&l, 1500000000ULL, "c1", "tick", "");
    mc_trace_log_add(&l, 15000000000ULL, "master", "master.client_expired", "client=c2");
    ck_assert_uint_eq(mc_expect_check(&s, &l, 40000000000ULL, r), 2);
    ck_assert_str_eq(r[2].msg, "FAIL [safety] expected 0..0 of master.client_expired{client=c2} in [0s,end], saw 1");
    ck_assert_str_eq(r[4].msg, "FAIL [safety] expected 2..2 of tick in [1s,2s], saw 3");

    /* parsed hw lines check the same way */
    mc_trace_log_t h;
    mc_trace_log_init(&h);
    ck_assert(mc_trace_parse_line("@trace 15000000000 master master.client_expired client=c1", &h));
    ck_assert_uint_eq(mc_expect_check(&s, &h, 40000000000ULL, r), 3);
    ck_assert(r[0].ok);
    mc_trace_log_free(&h);

    mc_trace_log_free(&l);
    mc_scenario_free(&s);
}
END_TEST

START_TEST(test_expect_check_scale)
{
    /* one pass per expectation: a million records stay fast */
    mc_scenario_t s;
    pok("{" BASE ",'expect':[{'event':'hit','fields':{'k':'7'},'min':100000}]}", &s);
    mc_trace_log_t l;
    mc_trace_log_init(&l);
    for (uint64_t i = 0; i < 1000000; i++)
        mc_trace_log_add(&l, i, "c1", i % 2 ? "hit" : "miss", i % 5 == 0 ? "j=1 k=7" : "k=8");
    mc_expect_result_t r;
    ck_assert_uint_eq(mc_expect_check(&s, &l, s.duration_ns, &r), 0);
    ck_assert_uint_eq(r.count, 100000);
    mc_trace_log_free(&l);
    mc_scenario_free(&s);
    /* no expectations: results may be NULL */
    pok("{" BASE "}", &s);
    mc_trace_log_init(&l);
    ck_assert_uint_eq(mc_expect_check(&s, &l, 0, NULL), 0);
    mc_scenario_free(&s);
}
END_TEST

/* ---- the real files ---- */

static char root[1024];

static void find_root(void)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", __FILE__); /* <root>/tests/unit/test_scenario.c */
    snprintf(root, sizeof root, "%s", dirname(dirname(dirname(tmp))));
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static mc_status_t parse_file(const char *rel, mc_scenario_t *s)
{
    char path[1200];
    size_t len;
    snprintf(path, sizeof path, "%s/%s", root, rel);
    char *j = slurp(path, &len);
    mc_status_t st = mc_scenario_parse(j, len, rel, s, err, sizeof err);
    free(j);
    return st;
}

START_TEST(test_real_files_parse)
{
    find_root();
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/scenarios", root);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "no %s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0)
            continue;
        char rel[300];
        snprintf(rel, sizeof rel, "scenarios/%s", e->d_name);
        mc_scenario_t s;
        ck_assert_msg(parse_file(rel, &s) == MC_OK, "%s", err);
        ck_assert(s.nnodes > 0 && s.nexpects > 0);
        int calls = 0;
        ck_assert_msg(mc_scenario_resolve(&s, addr_of, &calls, err, sizeof err) == MC_OK, "%s", err);
        for (size_t i = 0; i < s.nnodes; i++)
            for (size_t k = 0; k < s.nodes[i].conf.n; k++)
                ck_assert_ptr_null(strstr(s.nodes[i].conf.kv[k].value, "${"));
        mc_scenario_free(&s);
        n++;
    }
    closedir(d);
    ck_assert_int_ge(n, 4);
}
END_TEST

START_TEST(test_membership_files)
{
    find_root();
    mc_scenario_t s;
    ck_assert_msg(parse_file("scenarios/membership-client-crash.json", &s) == MC_OK, "%s", err);
    ck_assert_uint_eq(s.nnodes, 4);
    ck_assert_str_eq(s.nodes[0].role, "member_master");
    ck_assert_str_eq(mc_conf_get(&s.nodes[0].conf, "client_ttl"), "5s");
    ck_assert_str_eq(s.nodes[3].name, "c3");
    ck_assert_str_eq(s.nodes[3].role, "member_client");
    ck_assert_uint_eq(s.nfaults, 2);
    ck_assert_int_eq(s.faults[0].kind, MC_FAULT_CRASH);
    ck_assert_int_eq(s.faults[1].kind, MC_FAULT_RESTART);

    /* a trace shaped like a correct run passes; an early expiry fails */
    mc_trace_log_t l;
    mc_trace_log_init(&l);
    const char *lines[] = {
        "@trace 200000000 c1 client.registered", "@trace 200000000 c2 client.registered",
        "@trace 200000000 c3 client.registered",
        "@trace 200000000 master master.client_registered client=c1",
        "@trace 10600000000 master master.client_expired client=c1",
        "@trace 15200000000 master master.client_registered client=c1",
        "@trace 15200000000 c1 client.registered", NULL};
    for (size_t i = 0; lines[i]; i++)
        ck_assert(mc_trace_parse_line(lines[i], &l));
    mc_expect_result_t *r = calloc(s.nexpects, sizeof *r);
    size_t fails = mc_expect_check(&s, &l, s.duration_ns, r);
    for (size_t i = 0; i < s.nexpects; i++)
        ck_assert_msg(r[i].ok, "%s", r[i].msg);
    ck_assert_uint_eq(fails, 0);
    ck_assert(mc_trace_parse_line("@trace 8000000000 master master.client_expired client=c1", &l));
    ck_assert_uint_eq(mc_expect_check(&s, &l, s.duration_ns, r), 2);
    free(r);
    mc_trace_log_free(&l);
    mc_scenario_free(&s);
}
END_TEST

START_TEST(test_readme_example)
{
    /* The complete example in scenarios/README.md must stay valid. */
    find_root();
    char path[1200];
    size_t len;
    snprintf(path, sizeof path, "%s/scenarios/README.md", root);
    char *md = slurp(path, &len);
    char *start = strstr(md, "```json\n");
    ck_assert_ptr_nonnull(start);
    start += 8;
    char *end = strstr(start, "```");
    ck_assert_ptr_nonnull(end);
    mc_scenario_t s;
    mc_status_t st = mc_scenario_parse(start, (size_t)(end - start), "README.md", &s, err, sizeof err);
    ck_assert_msg(st == MC_OK, "%s", err);
    ck_assert_uint_eq(s.nnodes, 4);
    ck_assert_uint_eq(s.nfaults, 5);
    ck_assert_int_eq(s.faults[3].kind, MC_FAULT_NET);
    ck_assert(s.faults[3].net.loss == 0.01);
    ck_assert_uint_eq(s.faults[3].net.latency_ns, 100000);
    ck_assert_uint_eq(s.net.bandwidth_bps, 10000000000ULL);
    ck_assert_uint_eq(s.ncmds, 1);
    ck_assert_uint_eq(s.nexpects, 3);
    mc_scenario_free(&s);
    free(md);
}
END_TEST

START_TEST(test_bad_files)
{
    find_root();
    mc_scenario_t s;
    ck_assert_int_eq(parse_file("scenarios/bad/unknown-node.json", &s), MC_INVALID_PARAMS);
    ck_assert_str_eq(err, "scenarios/bad/unknown-node.json: faults[2].node: unknown node 'c9'");
    ck_assert_int_eq(parse_file("scenarios/bad/syntax-error.json", &s), MC_INVALID_PARAMS);
    ck_assert_str_eq(err, "scenarios/bad/syntax-error.json: line 5, column 3: JSON syntax error near "
                          "'\"nodes\": [{\"name\": \"mas'");
    ck_assert_int_eq(parse_file("scenarios/bad/fault-after-end.json", &s), MC_INVALID_PARAMS);
    ck_assert_str_eq(err, "scenarios/bad/fault-after-end.json: faults[1].at: 12s is after the end of the "
                          "scenario (duration 10s)");
}
END_TEST

START_TEST(test_checks_and_blackhole)
{
    mc_scenario_t s;
    pok("{" BASE ",'checks':['store_history']}", &s);
    ck_assert(s.checks.store_history);
    ck_assert(!s.checks.allow_eviction);
    mc_scenario_free(&s);
    pok("{" BASE ",'checks':{'store_history':{'allow_eviction':true}}}", &s);
    ck_assert(s.checks.store_history && s.checks.allow_eviction);
    mc_scenario_free(&s);
    pok("{" BASE ",'checks':{'store_history':true},"
        "'faults':[{'at':'1s','action':'xfer_blackhole','node':'c1'},"
        "{'at':'2s','action':'xfer_blackhole_off','node':'c1'}]}", &s);
    ck_assert(s.checks.store_history);
    ck_assert_uint_eq(s.nfaults, 2);
    ck_assert_int_eq(s.faults[0].kind, MC_FAULT_XFER_BLACKHOLE);
    ck_assert_int_eq(s.faults[1].kind, MC_FAULT_XFER_BLACKHOLE_OFF);
    ck_assert_str_eq(s.faults[1].node, "c1");
    mc_scenario_free(&s);
    ERR("{" BASE ",'checks':['nope']}", "t.json: checks[0]: unknown check 'nope' (expected: store_history, ep)");
    ERR("{" BASE ",'checks':[1]}", "t.json: checks[0]: expected a check name, got a number");
    ERR("{" BASE ",'checks':'store_history'}",
        "t.json: checks: expected an array of check names or an object, got a string");
    ERR("{" BASE ",'checks':{'store_history':{'evict':true}}}",
        "t.json: checks.store_history.evict: unknown key (expected one of: allow_eviction, comment)");
    ERR("{" BASE ",'faults':[{'at':'1s','action':'xfer_blackhole'}]}", "t.json: faults[0].node: missing (required)");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("scenario");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_minimal_defaults);
    tcase_add_test(tc, test_checks_and_blackhole);
    tcase_add_test(tc, test_full_example);
    tcase_add_test(tc, test_err_json);
    tcase_add_test(tc, test_err_top);
    tcase_add_test(tc, test_err_network);
    tcase_add_test(tc, test_bandwidth);
    tcase_add_test(tc, test_err_nodes);
    tcase_add_test(tc, test_large_objects);
    tcase_add_test(tc, test_err_faults);
    tcase_add_test(tc, test_err_workload);
    tcase_add_test(tc, test_err_expect);
    tcase_add_test(tc, test_resolve);
    tcase_add_test(tc, test_names_and_durations);
    suite_add_tcase(s, tc);
    TCase *tt = tcase_create("trace");
    tcase_add_test(tt, test_trace_lines);
    tcase_add_test(tt, test_trace_fields);
    tcase_add_test(tt, test_expect_check);
    tcase_add_test(tt, test_expect_check_scale);
    suite_add_tcase(s, tt);
    TCase *tf = tcase_create("files");
    tcase_add_test(tf, test_real_files_parse);
    tcase_add_test(tf, test_membership_files);
    tcase_add_test(tf, test_readme_example);
    tcase_add_test(tf, test_bad_files);
    suite_add_tcase(s, tf);
    return s;
}

MC_CHECK_MAIN(suite)
