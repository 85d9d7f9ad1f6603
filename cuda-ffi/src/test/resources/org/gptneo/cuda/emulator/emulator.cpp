// The emulator's scheduler: runs a kernel's grid block by block, each block's threads as fibers
// (kernels that cooperate through shared memory), or one after another as plain calls (kernels
// that never synchronise: much faster, and a __syncthreads() there is reported as an error).
#include "emulator.h"
#include <ucontext.h>
#include <cstdlib>
#include <vector>

extern "C" {
dim3 emu_thread_idx, emu_block_idx, emu_block_dim, emu_grid_dim;
}

namespace {
constexpr size_t STACK_BYTES = 128 * 1024;

struct Fiber {
    ucontext_t context;
    dim3 index;
    bool done = false;
    std::vector<char> stack;
};

ucontext_t scheduler;
std::vector<Fiber> fibers;
Fiber* current = nullptr;
void (*current_body)(void**) = nullptr;
void** current_args = nullptr;
std::vector<unsigned char> dynamic_shared;
bool direct = false;           // threads run as plain calls: __syncthreads() is an error
bool synced_in_direct = false;

void fiber_main() {
    current_body(current_args);
    current->done = true;
    swapcontext(&current->context, &scheduler);
}

void run_block(unsigned threads) {
    for (unsigned t = 0; t < threads; t++) {
        Fiber& f = fibers[t];
        f.done = false;
        f.index.x = t % emu_block_dim.x;
        f.index.y = (t / emu_block_dim.x) % emu_block_dim.y;
        f.index.z = t / (emu_block_dim.x * emu_block_dim.y);
        getcontext(&f.context);
        f.context.uc_stack.ss_sp = f.stack.data();
        f.context.uc_stack.ss_size = f.stack.size();
        f.context.uc_link = nullptr;
        makecontext(&f.context, fiber_main, 0);
    }
    // Round-robin: each round resumes every live fiber until it reaches __syncthreads() or ends.
    bool live = true;
    while (live) {
        live = false;
        for (unsigned t = 0; t < threads; t++) {
            Fiber& f = fibers[t];
            if (f.done) continue;
            current = &f;
            emu_thread_idx = f.index;
            swapcontext(&scheduler, &f.context);
            if (!f.done) live = true;
        }
    }
}
}  // namespace

extern "C" void emu_syncthreads() {
    if (direct) {
        synced_in_direct = true;
        return;
    }
    swapcontext(&current->context, &scheduler);
    emu_thread_idx = current->index;
}

extern "C" void* emu_dynamic_shared() {
    return dynamic_shared.data();
}

// Runs body over the grid; returns 0, 1 for an impossible launch, 3 when a kernel run without fibers
// called __syncthreads().
extern "C" int emu_run(void (*body)(void**), void** args, unsigned gx, unsigned gy, unsigned gz,
                       unsigned bx, unsigned by, unsigned bz, unsigned shared_bytes, int fibers_needed) {
    unsigned threads = bx * by * bz;
    if (threads == 0 || threads > 1024 || gx == 0 || gy == 0 || gz == 0) return 1;
    if (fibers.size() < threads) {
        size_t old = fibers.size();
        fibers.resize(threads);
        for (size_t i = old; i < threads; i++) fibers[i].stack.resize(STACK_BYTES);
    }
    dynamic_shared.assign(shared_bytes + 16, 0xCD);  // garbage-filled, as on a GPU
    emu_grid_dim = {gx, gy, gz};
    emu_block_dim = {bx, by, bz};
    current_body = body;
    current_args = args;
    direct = !fibers_needed;
    synced_in_direct = false;
    for (unsigned z = 0; z < gz; z++)
        for (unsigned y = 0; y < gy; y++)
            for (unsigned x = 0; x < gx; x++) {
                emu_block_idx = {x, y, z};
                if (direct) {
                    for (unsigned t = 0; t < threads; t++) {
                        emu_thread_idx = {t % bx, (t / bx) % by, t / (bx * by)};
                        body(args);
                    }
                } else {
                    run_block(threads);
                }
            }
    direct = false;
    return synced_in_direct ? 3 : 0;
}
