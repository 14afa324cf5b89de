/* SPDX-License-Identifier: MIT */
/* The child of bench/spawn-bench: linked statically so that its exec costs as little as
 * possible (no dynamic loader, no shared libraries) and spawn overhead dominates. */
int main(void)
{
        return 0;
}
