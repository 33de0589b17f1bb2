// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for stack/route.c: the LPM table on its own (longest match,
 * default route, add/del, duplicates, a full table, deleting an
 * interface's routes, dump order, and random tables checked against a
 * linear reference after every change), then the stack's glue: connected
 * routes of interfaces, `ip route`-like commands and their messages, and
 * route_get/route_format with the neighbour state.
 *
 * fini fails if any packet buffer is still out.
 */
#include "stack_helpers.h"

static void init(void)
{
	t_pool_init(256);
}

static void fini(void)
{
	t_pool_fini();
}

TestSuite(stack_route, .init = init, .fini = fini, .timeout = 60);

static struct weir_route_table *table(uint32_t max)
{
	int err;
	struct weir_route_table *t = weir_route_create(max, &err);

	cr_assert_not_null(t, "%d", err);
	return t;
}

static int add(struct weir_route_table *t, uint32_t prefix, uint8_t len, uint16_t iface,
	       uint32_t gw)
{
	return weir_route_add(t, &(struct weir_route){prefix, len, iface, gw});
}

/* iface of the route dst takes, -1 for none. */
static int via(struct weir_route_table *t, uint32_t dst)
{
	struct weir_route r;

	return weir_route_lookup(t, dst, &r) ? -1 : r.iface;
}

Test(stack_route, longest_prefix_wins)
{
	struct weir_route_table *t = table(0);

	cr_assert_eq(add(t, IP(10, 0, 0, 0), 8, 1, 0), 0);
	cr_assert_eq(add(t, IP(10, 1, 0, 0), 16, 2, 0), 0);
	cr_assert_eq(add(t, IP(10, 1, 2, 0), 24, 3, 0), 0);
	cr_assert_eq(add(t, IP(10, 1, 2, 3), 32, 4, 0), 0);
	cr_expect_eq(via(t, IP(10, 1, 2, 3)), 4);
	cr_expect_eq(via(t, IP(10, 1, 2, 4)), 3);
	cr_expect_eq(via(t, IP(10, 1, 3, 4)), 2);
	cr_expect_eq(via(t, IP(10, 2, 3, 4)), 1);
	cr_expect_eq(via(t, IP(11, 0, 0, 1)), -1, "no default");
	cr_expect_eq(weir_route_lookup(t, IP(11, 0, 0, 1), &(struct weir_route){0}),
		     -ENETUNREACH);
	cr_assert_eq(add(t, 0, 0, 9, IP(10, 0, 0, 254)), 0);
	cr_expect_eq(via(t, IP(11, 0, 0, 1)), 9, "default route");
	cr_expect_eq(via(t, IP(10, 1, 2, 3)), 4, "still the longest");
	weir_route_destroy(t);
}

Test(stack_route, bits_past_the_length_are_ignored)
{
	struct weir_route_table *t = table(0);
	struct weir_route r;

	cr_assert_eq(add(t, IP(192, 168, 7, 99), 24, 1, 0), 0);
	cr_expect_eq(add(t, IP(192, 168, 7, 0), 24, 2, 0), -EEXIST, "the same prefix");
	cr_assert_eq(weir_route_find(t, IP(192, 168, 7, 0), 24, &r), 0);
	cr_expect_eq(r.prefix, IP(192, 168, 7, 0));
	cr_expect_eq(via(t, IP(192, 168, 7, 1)), 1);
	cr_expect_eq(add(t, 0, 33, 1, 0), -EINVAL);
	cr_expect_eq(weir_route_del(t, 0, 33), -EINVAL);
	weir_route_destroy(t);
}

Test(stack_route, add_and_delete_at_run_time)
{
	struct weir_route_table *t = table(0);

	cr_assert_eq(add(t, IP(10, 0, 0, 0), 8, 1, 0), 0);
	cr_assert_eq(add(t, IP(10, 1, 0, 0), 16, 2, 0), 0);
	cr_expect_eq(via(t, IP(10, 1, 0, 1)), 2);
	cr_assert_eq(weir_route_del(t, IP(10, 1, 0, 0), 16), 0);
	cr_expect_eq(via(t, IP(10, 1, 0, 1)), 1);
	cr_expect_eq(weir_route_del(t, IP(10, 1, 0, 0), 16), -ENOENT);
	cr_assert_eq(weir_route_del(t, IP(10, 0, 0, 0), 8), 0);
	cr_expect_eq(via(t, IP(10, 1, 0, 1)), -1);
	cr_expect_eq(weir_route_count(t), 0);
	weir_route_destroy(t);
}

Test(stack_route, full_table_and_delete_by_interface)
{
	struct weir_route_table *t = table(16);
	struct weir_route out[32];

	for (uint32_t i = 0; i < 16; i++)
		cr_assert_eq(add(t, IP(10, i, 0, 0), 16, (uint16_t)(i % 3), 0), 0);
	cr_expect_eq(add(t, IP(11, 0, 0, 0), 8, 0, 0), -ENOSPC);
	cr_expect_eq(weir_route_del_iface(t, 1), 5);
	cr_expect_eq(weir_route_count(t), 11);
	for (uint32_t i = 0; i < 16; i++)
		cr_expect_eq(via(t, IP(10, i, 9, 9)), i % 3 == 1 ? -1 : (int)(i % 3));
	cr_expect_eq(weir_route_dump(t, out, 32), 11);
	weir_route_destroy(t);
}

Test(stack_route, dump_gives_longest_prefixes_first)
{
	struct weir_route_table *t = table(0);
	struct weir_route out[8];

	add(t, 0, 0, 0, IP(10, 0, 0, 1));
	add(t, IP(10, 0, 0, 0), 8, 0, 0);
	add(t, IP(10, 9, 9, 9), 32, 0, 0);
	add(t, IP(10, 9, 0, 0), 16, 0, 0);
	cr_assert_eq(weir_route_dump(t, out, 8), 4);
	cr_expect_eq(out[0].len, 32);
	cr_expect_eq(out[1].len, 16);
	cr_expect_eq(out[2].len, 8);
	cr_expect_eq(out[3].len, 0);
	cr_expect_eq(out[3].gateway, IP(10, 0, 0, 1));
	cr_expect_eq(weir_route_dump(t, out, 2), 4, "count whatever n");
	weir_route_destroy(t);
}

/* A linear reference: the longest of the live routes covering dst. */
struct ref {
	struct weir_route r[512];
	bool live[512];
	int n;
};

static int ref_via(const struct ref *rf, uint32_t dst)
{
	int best = -1, len = -1;

	for (int i = 0; i < rf->n; i++)
		if (rf->live[i] && rf->r[i].len > len &&
		    !((dst ^ rf->r[i].prefix) & weir_route_mask(rf->r[i].len))) {
			best = rf->r[i].iface;
			len = rf->r[i].len;
		}
	return best;
}

Test(stack_route, random_tables_match_a_linear_reference)
{
	static struct ref rf;
	struct weir_route_table *t = table(512);
	uint32_t s = 99;

	for (int step = 0; step < 4000; step++) {
		s = s * 1103515245u + 12345u;
		if ((s >> 28) < 11 && rf.n < 512) {
			/* A prefix near others: few top bits vary, so they nest. */
			uint8_t len = (uint8_t)((s >> 8) % 33);
			uint32_t prefix = (IP(10, 0, 0, 0) | ((s * 2654435761u) & 0x00ff0f0f)) &
					  weir_route_mask(len);
			int dup = 0;

			for (int i = 0; i < rf.n; i++)
				dup |= rf.live[i] && rf.r[i].len == len && rf.r[i].prefix == prefix;
			cr_assert_eq(add(t, prefix, len, (uint16_t)step, 0), dup ? -EEXIST : 0);
			if (!dup) {
				rf.r[rf.n] = (struct weir_route){prefix, len, (uint16_t)step, 0};
				rf.live[rf.n++] = true;
			}
		} else if (rf.n) {
			int i = (int)((s >> 4) % (uint32_t)rf.n);
			bool any = false;

			/* A dead entry's prefix may have been added again since. */
			for (int k = 0; k < rf.n; k++) {
				if (rf.r[k].len == rf.r[i].len && rf.r[k].prefix == rf.r[i].prefix) {
					any |= rf.live[k];
					rf.live[k] = false;
				}
			}
			cr_assert_eq(weir_route_del(t, rf.r[i].prefix, rf.r[i].len),
				     any ? 0 : -ENOENT);
		}
		for (int q = 0; q < 8; q++) {
			uint32_t dst = IP(10, 0, 0, 0) | ((s ^ (uint32_t)q * 0x9e3779b9u) & 0x00ff0f0f);

			cr_assert_eq(via(t, dst), ref_via(&rf, dst), "step %d dst %08x", step, dst);
		}
	}
	weir_route_destroy(t);
}

/* --- the stack's glue --------------------------------------------------- */

static struct weir_stack *two_ifaces(void)
{
	struct weir_stack *st = t_stack();
	char why[256];

	cr_assert_eq(weir_stack_iface_add(st,
					  &(struct weir_stack_iface_conf){
						  .name = "eth1", .port_id = 1,
						  .mac = {0x02, 0, 0, 0, 1, 1},
						  .addr = IP(192, 168, 1, 1), .prefix = 24,
						  .no_garp = true},
					  why, sizeof(why)),
		     1, "%s", why);
	return st;
}

Test(stack_route, commands_change_the_table)
{
	struct weir_stack *st = two_ifaces();
	struct weir_route r;
	char why[256] = "";

	cr_assert_eq(weir_stack_route_cmd(st, "add 172.16.0.0/12 via 192.168.1.254", why,
					  sizeof(why)),
		     0, "%s", why);
	cr_assert_eq(weir_route_lookup(weir_stack_routes(st), IP(172, 20, 0, 1), &r), 0);
	cr_expect_eq(r.iface, 1, "the gateway's interface");
	cr_expect_eq(r.gateway, IP(192, 168, 1, 254));
	cr_assert_eq(weir_stack_route_cmd(st, "add default via 10.0.0.254", why, sizeof(why)), 0,
		     "%s", why);
	cr_assert_eq(weir_stack_route_cmd(st, "add 10.9.0.0/16 dev eth1", why, sizeof(why)), 0);
	cr_assert_eq(weir_route_lookup(weir_stack_routes(st), IP(10, 9, 1, 1), &r), 0);
	cr_expect_eq(r.iface, 1);
	cr_expect_eq(r.gateway, 0);
	cr_assert_eq(weir_stack_route_cmd(st, "add 8.8.8.8 via 10.0.0.3 dev eth0", why,
					  sizeof(why)),
		     0, "%s", why);
	cr_expect_eq(weir_route_find(weir_stack_routes(st), IP(8, 8, 8, 8), 32, &r), 0);
	cr_assert_eq(weir_stack_route_cmd(st, "del 172.16.0.0/12", why, sizeof(why)), 0);
	cr_expect_eq(weir_route_lookup(weir_stack_routes(st), IP(172, 20, 0, 1), &r), 0);
	cr_expect_eq(r.len, 0, "the default now");
	cr_assert_eq(weir_stack_route_cmd(st, "del default", why, sizeof(why)), 0);
	cr_expect_eq(weir_route_lookup(weir_stack_routes(st), IP(172, 20, 0, 1), &r),
		     -ENETUNREACH);
	weir_stack_destroy(st);
}

Test(stack_route, bad_commands_say_what_is_wrong)
{
	struct weir_stack *st = two_ifaces();
	static const struct {
		const char *cmd;
		int err;
		const char *says;
	} cases[] = {
		{"", -EINVAL, "add or del"},
		{"replace 10.0.0.0/8 dev eth0", -EINVAL, "add or del"},
		{"add 10.0.0.0/33 dev eth0", -EINVAL, "not a prefix"},
		{"add 10.0.0/8 dev eth0", -EINVAL, "not a prefix"},
		{"add 10.0.0.0/8", -EINVAL, "needs"},
		{"add 10.0.0.0/8 via", -EINVAL, "needs a value"},
		{"add 10.0.0.0/8 via banana", -EINVAL, "not an address"},
		{"add 10.0.0.0/8 dev eth7", -ENOENT, "no interface 'eth7'"},
		{"add 10.0.0.0/8 mtu 1400", -EINVAL, "unknown keyword"},
		{"add 10.5.0.0/16 via 172.16.0.1", -ENETUNREACH, "not on a connected subnet"},
		{"add 10.5.0.0/16 via 10.0.0.9 dev eth1", -ENETUNREACH, "of eth1"},
		{"add 10.0.0.0/24 dev eth0", -EEXIST, "exists"},
		{"del 10.77.0.0/16", -ENOENT, "no route"},
	};

	for (size_t i = 0; i < WEIR_ARRAY_SIZE(cases); i++) {
		char why[256] = "";
		int err = weir_stack_route_cmd(st, cases[i].cmd, why, sizeof(why));

		cr_expect_eq(err, cases[i].err, "'%s': %d (%s)", cases[i].cmd, err, why);
		cr_expect(strstr(why, cases[i].says), "'%s' says '%s'", cases[i].cmd, why);
	}
	weir_stack_destroy(st);
}

Test(stack_route, route_get_names_route_interface_and_neighbour)
{
	struct weir_stack *st = two_ifaces();
	struct weir_stack_route_info ri;
	char why[256], line[256];

	cr_assert_eq(weir_stack_route_cmd(st, "add default via 10.0.0.2", why, sizeof(why)), 0);
	cr_assert_eq(weir_stack_route_get(st, IP(8, 8, 8, 8), &ri), 0);
	cr_expect_eq(ri.iface, 0);
	cr_expect_eq(ri.nexthop, IP_PEER);
	cr_expect_eq(ri.src, IP_US);
	cr_expect_eq(ri.len, 0);
	cr_expect_eq(ri.neigh, WEIR_NEIGH_NONE);
	weir_stack_route_format(st, &ri, line, sizeof(line));
	cr_expect_str_eq(line, "8.8.8.8 via 10.0.0.2 dev eth0 src 10.0.0.1");
	t_learn_peer(st, 0);
	cr_assert_eq(weir_stack_route_get(st, IP(8, 8, 8, 8), &ri), 0);
	cr_expect_eq(ri.neigh, WEIR_NEIGH_REACHABLE);
	cr_expect_arr_eq(ri.mac, mac_peer, 6);
	weir_stack_route_format(st, &ri, line, sizeof(line));
	cr_expect_str_eq(line, "8.8.8.8 via 10.0.0.2 dev eth0 src 10.0.0.1 lladdr "
			       "02:00:00:00:00:02 REACHABLE");
	cr_assert_eq(weir_stack_route_get(st, IP(192, 168, 1, 7), &ri), 0);
	weir_stack_route_format(st, &ri, line, sizeof(line));
	cr_expect_str_eq(line, "192.168.1.7 dev eth1 src 192.168.1.1");
	cr_assert_eq(weir_stack_route_get(st, IP(192, 168, 1, 255), &ri), 0);
	cr_expect(ri.broadcast);
	weir_stack_route_format(st, &ri, line, sizeof(line));
	cr_expect_str_eq(line, "broadcast 192.168.1.255 dev eth1 src 192.168.1.1");
	cr_assert_eq(weir_stack_route_cmd(st, "del default", why, sizeof(why)), 0);
	cr_expect_eq(weir_stack_route_get(st, IP(8, 8, 8, 8), &ri), -ENETUNREACH);
	weir_stack_destroy(st);
}

/* Regression: the lladdr buffer held 16 of the 17 characters of a MAC, so
 * `ip route get`'s line lost the MAC's last digit. */
Test(stack_route, format_prints_the_whole_mac_address)
{
	struct weir_stack *st = t_stack();
	struct weir_stack_route_info ri;
	char line[256];

	t_learn_peer(st, 0);
	cr_assert_eq(weir_stack_route_get(st, IP_PEER, &ri), 0);
	weir_stack_route_format(st, &ri, line, sizeof(line));
	cr_expect(strstr(line, "lladdr 02:00:00:00:00:02 REACHABLE"), "%s", line);
	weir_stack_destroy(st);
}
