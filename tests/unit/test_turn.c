/* test_turn.c: the message tree's shown branch (branch.h) and the stream's
 * resume ids (turn_parse_event_id, turn.h), hostile input first. */
#include <stdlib.h>

#include "branch.h"
#include "check.h"
#include "turn.h"

static void test_event_ids(void)
{
	size_t c = 7, r = 7;
	static const char *const bad[] = {"", ".", "1", "1.", ".1", "1..2", "1.2.3", "-1.0", "+1.0", " 1.0", "1.0 ",
					  "1,0", "0x1.0", "1e3.0", "9999999999999999.0", "1.\n0", NULL};
	int all_refused = 1;
	for (int i = 0; bad[i]; i++)
		if (turn_parse_event_id(bad[i], &c, &r) == 0) {
			all_refused = 0;
			printf("#   accepted \"%s\"\n", bad[i]);
		}
	CHECK(all_refused, "ids it never sends are refused");
	CHECK(c == 7 && r == 7, "and leave the offsets alone");
	CHECK(turn_parse_event_id("0.0", &c, &r) == 0 && c == 0 && r == 0, "0.0 is the start");
	CHECK(turn_parse_event_id("1234.56", &c, &r) == 0 && c == 1234 && r == 56, "content and reasoning offsets");
}

static void test_branches(void)
{
	/* 1 user, 2 answer; 3 answer regenerated; 4 user edited beside 1's
	 * child... a tree: 1 -> {2, 3}; 3 -> 5 -> 6; 1 is a root, 4 another root */
	static const struct msg_node tree[] = {
	    {1, 0, 1}, {2, 1, 0}, {3, 1, 0}, {4, 0, 1}, {5, 3, 1}, {6, 5, 0},
	};
	size_t n = sizeof tree / sizeof tree[0];
	CHECK(branch_end(NULL, 0, 0) == 0, "an empty conversation has no branch");
	CHECK(branch_end(tree, n, 0) == 6, "no leaf: the branch of the newest message");
	CHECK(branch_end(tree, n, 2) == 2, "a leaf stays the end");
	CHECK(branch_end(tree, n, 1) == 6, "down from a message by the newest child");
	CHECK(branch_end(tree, n, 99) == 6, "an unknown id is the newest branch");
	long long *path;
	size_t len;
	branch_path(tree, n, 6, &path, &len);
	CHECK(len == 4 && path[0] == 1 && path[1] == 3 && path[2] == 5 && path[3] == 6, "the path from the root");
	free(path);
	branch_path(tree, n, 2, &path, &len);
	CHECK(len == 2 && path[0] == 1 && path[1] == 2, "a sibling's path");
	free(path);
	branch_path(tree, n, 42, &path, &len);
	CHECK(len == 0 && path == NULL, "an unknown leaf has no path");
	/* hostile rows: a parent that points down or to itself never loops */
	static const struct msg_node bad[] = {{1, 2, 1}, {2, 2, 0}, {3, 9, 0}};
	branch_path(bad, 3, 2, &path, &len);
	CHECK(len == 1 && path[0] == 2, "a self-parent ends the walk");
	free(path);
	branch_path(bad, 3, 3, &path, &len);
	CHECK(len == 1 && path[0] == 3, "a missing parent ends the walk");
	free(path);
	CHECK(branch_end(bad, 3, 1) == 1 && branch_has(bad, 3, 3) && !branch_has(bad, 3, 4), "and so does the walk down");
}

int main(void)
{
	test_event_ids();
	test_branches();
	return check_done();
}
