/* branch.c: the shown branch of a conversation's message tree (see branch.h). */
#include "branch.h"

#include <stdlib.h>

#include "alloc.h"

const struct msg_node *branch_node(const struct msg_node *tree, size_t n, long long id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (tree[mid].id == id)
			return &tree[mid];
		if (tree[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int branch_has(const struct msg_node *tree, size_t n, long long id)
{
	return branch_node(tree, n, id) != NULL;
}

long long branch_end(const struct msg_node *tree, size_t n, long long id)
{
	if (n == 0)
		return 0;
	long long cur = id && branch_node(tree, n, id) ? id : tree[n - 1].id;
	for (;;) {
		long long child = 0;
		for (size_t i = 0; i < n; i++)
			if (tree[i].parent_id == cur && tree[i].id > cur)
				child = tree[i].id; /* the newest, as the list is in id order */
		if (child == 0)
			return cur;
		cur = child;
	}
}

void branch_path(const struct msg_node *tree, size_t n, long long leaf, long long **path, size_t *len)
{
	*path = NULL;
	*len = 0;
	size_t depth = 0;
	/* parents have smaller ids, so a walk up ends within n steps */
	for (const struct msg_node *m = branch_node(tree, n, leaf); m && depth < n;
	     m = m->parent_id && m->parent_id < m->id ? branch_node(tree, n, m->parent_id) : NULL)
		depth++;
	if (depth == 0)
		return;
	*path = xcalloc(depth, sizeof **path);
	size_t i = depth;
	for (const struct msg_node *m = branch_node(tree, n, leaf); m && i > 0;
	     m = m->parent_id && m->parent_id < m->id ? branch_node(tree, n, m->parent_id) : NULL)
		(*path)[--i] = m->id;
	*len = depth;
}
