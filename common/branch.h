/* branch.h: the branch of a conversation's message tree that is shown.
 *
 * Contract: a conversation's messages form a tree by parent_id (store.h);
 * siblings are messages with one parent (a regenerated answer, an edited
 * prompt). A branch is the path from a root to a leaf. The branch through
 * message m goes up from m by parents and down from m by the newest child
 * at each step, so a branch shown once shows its later answers too. The
 * tree is store_msg_tree()'s list, in id order (children after parents). */
#ifndef AIF_BRANCH_H
#define AIF_BRANCH_H
#include <stddef.h>

#include "store.h"

/* The last message of the branch through id (0 or an unknown id: through
 * the newest message); 0 when the tree is empty. */
long long branch_end(const struct msg_node *tree, size_t n, long long id);
/* The ids of the branch ending at leaf, root first, in *path (the
 * caller's to free()); *len is 0 for an unknown leaf. */
void branch_path(const struct msg_node *tree, size_t n, long long leaf, long long **path, size_t *len);
/* Whether id is a message of the tree. */
int branch_has(const struct msg_node *tree, size_t n, long long id);
/* The node of message id in tree (sorted by id), or NULL. */
const struct msg_node *branch_node(const struct msg_node *tree, size_t n, long long id);

#endif
