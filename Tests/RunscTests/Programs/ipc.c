// System V shared memory: a private segment shared with a forked child (its inherited
// attachment and a fresh one), IPC_STAT, keys with IPC_CREAT and IPC_EXCL, IPC_RMID while
// attached, permissions after dropping root, and the errors. Prints only what native Linux
// prints too; it removes every segment it makes.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static int result(long value) { return value == -1 ? -errno : (int)value; }

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

static long elapsed_ms(struct timespec a, struct timespec b) { return (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000; }

// System V semaphores: values, P and V, waiting (woken by another process, timing out,
// ended by removal), SEM_UNDO at exit, GETALL/SETALL, IPC_STAT and the errors.
static void semaphores(void) {
    int set = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    union semun arg = {.val = 1};
    int set_value = semctl(set, 0, SETVAL, arg);
    int value = semctl(set, 0, GETVAL);
    struct sembuf take = {0, -1, 0}, give = {0, 1, 0}, take_now = {0, -1, IPC_NOWAIT}, zero = {0, 0, 0};
    int took = semop(set, &take, 1);
    int again = result(semop(set, &take_now, 1));
    int zero_ok = semop(set, &zero, 1);
    printf("semaphores: set %d value %d, P %d then %d, wait for zero %d\n", set_value, value, took, again, zero_ok);

    pid_t child = fork();
    if (child == 0) {
        struct timespec limit = {2, 0};
        _exit(semtimedop(set, &take, 1, &limit) == 0 ? 0 : 1);
    }
    int waiting = 0;
    for (int i = 0; i < 200 && waiting == 0; i++) {
        usleep(5000);
        waiting = semctl(set, 0, GETNCNT);
    }
    semop(set, &give, 1);
    int status;
    waitpid(child, &status, 0);
    struct sembuf take_second = {1, -1, 0};
    struct timespec short_limit = {0, 30000000}, t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int timed_out = result(semtimedop(set, &take_second, 1, &short_limit));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("waiting: one waiter %d, it got it %d; timeout %d after >= 30 ms %d\n", waiting, WIFEXITED(status) && WEXITSTATUS(status) == 0,
           timed_out, elapsed_ms(t0, t1) >= 30);

    // SEM_UNDO: a child's V is undone when it ends; without it, it stays.
    child = fork();
    if (child == 0) {
        struct sembuf undone = {1, 1, SEM_UNDO};
        semop(set, &undone, 1);
        _exit(semctl(set, 1, GETVAL) == 1 ? 0 : 1);
    }
    waitpid(child, &status, 0);
    int after_undo = semctl(set, 1, GETVAL);
    child = fork();
    if (child == 0) {
        struct sembuf kept = {1, 1, 0};
        semop(set, &kept, 1);
        _exit(0);
    }
    waitpid(child, &status, 0);
    int after_plain = semctl(set, 1, GETVAL);
    unsigned short all[2] = {5, 7}, read_back[2] = {0, 0};
    arg.array = all;
    int set_all = semctl(set, 0, SETALL, arg);
    arg.array = read_back;
    int get_all = semctl(set, 0, GETALL, arg);
    struct semid_ds info;
    arg.buf = &info;
    int stat = semctl(set, 0, IPC_STAT, arg);
    printf("undo: back to %d, without undo %d; setall %d getall %d %u %u; stat %d nsems %lu mode %o\n", after_undo, after_plain, set_all, get_all,
           read_back[0], read_back[1], stat, (unsigned long)info.sem_nsems, info.sem_perm.mode & 0777);

    struct sembuf past = {5, 1, 0}, many[501];
    for (int i = 0; i < 501; i++) many[i] = give;
    arg.val = 40000;
    key_t key = 0x5b000000 | (getpid() & 0xffffff);
    int keyed = semget(key, 2, IPC_CREAT | IPC_EXCL | 0600);
    int larger = result(semget(key, 3, 0));
    semctl(keyed, 0, IPC_RMID);
    printf("errors: past the set %d, no operations %d, too many %d, value too big %d, more than the set %d\n", result(semop(set, &past, 1)),
           result(semop(set, &give, 0)), result(semop(set, many, 501)), result(semctl(set, 0, SETVAL, arg)), larger);

    // A SEM_UNDO adjustment stays within SEMAEM (ERANGE beyond).
    arg.val = 0;
    semctl(set, 1, SETVAL, arg);
    struct sembuf up_undo = {1, 32767, SEM_UNDO}, down = {1, -32767, 0};
    int first = semop(set, &up_undo, 1), drained = semop(set, &down, 1), beyond = result(semop(set, &up_undo, 1));
    printf("undo limit: %d %d then %d\n", first, drained, beyond);

    // Removal wakes a waiter with EIDRM.
    arg.val = 0;
    semctl(set, 0, SETVAL, arg);
    child = fork();
    if (child == 0) _exit(semop(set, &take, 1) == -1 && errno == EIDRM ? 0 : 1);
    for (int i = 0; i < 200 && semctl(set, 0, GETNCNT) == 0; i++) usleep(5000);
    int removed = semctl(set, 0, IPC_RMID);
    waitpid(child, &status, 0);
    printf("removed: %d, the waiter got EIDRM %d, then %d\n", removed, WIFEXITED(status) && WEXITSTATUS(status) == 0, result(semop(set, &give, 1)));
}

struct message {
    long type;
    char text[64];
};

// System V message queues: types and their selection, MSG_EXCEPT, truncation, a receiver
// woken by another process, a full queue, IPC_STAT, removal, and the errors.
static void message_queues(void) {
    int queue = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    struct message one = {1, "one"}, two = {2, "two"}, three = {3, "three"}, got;
    int sent = msgsnd(queue, &one, 4, 0) | msgsnd(queue, &two, 4, 0) | msgsnd(queue, &three, 6, 0);
    ssize_t by_type = msgrcv(queue, &got, sizeof got.text, 2, 0);
    printf("queue: sent %d, type 2 %zd \"%s\";", sent, by_type, got.text);
    ssize_t lowest = msgrcv(queue, &got, sizeof got.text, -3, 0);
    printf(" lowest <= 3 %zd \"%s\";", lowest, got.text);
    int too_long = result(msgrcv(queue, &got, 2, 0, 0));
    ssize_t cut = msgrcv(queue, &got, 2, 0, MSG_NOERROR);
    printf(" too long %d, cut %zd; empty %d\n", too_long, cut, result(msgrcv(queue, &got, sizeof got.text, 0, IPC_NOWAIT)));
    msgsnd(queue, &one, 4, 0);
    msgsnd(queue, &two, 4, 0);
    ssize_t except = msgrcv(queue, &got, sizeof got.text, 1, MSG_EXCEPT);
    printf("except: %zd type %ld;", except, got.type);
    msgrcv(queue, &got, sizeof got.text, 0, 0);

    pid_t child = fork();
    if (child == 0) {
        struct message waited;
        ssize_t n = msgrcv(queue, &waited, sizeof waited.text, 7, 0);
        _exit(n == 6 && strcmp(waited.text, "later") == 0 ? 0 : 1);
    }
    usleep(50000);
    struct message later = {7, "later"};
    msgsnd(queue, &later, 6, 0);
    int status;
    waitpid(child, &status, 0);
    printf(" a waiting receiver got it %d;", WIFEXITED(status) && WEXITSTATUS(status) == 0);

    struct msqid_ds info;
    msgctl(queue, IPC_STAT, &info);
    info.msg_qbytes = 100;
    int set = msgctl(queue, IPC_SET, &info);
    struct message big = {1, ""};
    int filled = msgsnd(queue, &big, 60, 0), full = result(msgsnd(queue, &big, 60, IPC_NOWAIT));
    msgctl(queue, IPC_STAT, &info);
    printf(" limit %d, then full %d; stat qbytes %lu qnum %lu cbytes %lu\n", set | filled, full, (unsigned long)info.msg_qbytes,
           (unsigned long)info.msg_qnum, (unsigned long)info.__msg_cbytes);

    struct message bad = {0, "x"};
    int bad_type = result(msgsnd(queue, &bad, 1, 0)), too_big = result(msgsnd(queue, &big, 9000, 0));
    child = fork();
    if (child == 0) _exit(msgrcv(queue, &got, sizeof got.text, 99, 0) == -1 && errno == EIDRM ? 0 : 1);
    usleep(50000);
    int removed = msgctl(queue, IPC_RMID, NULL);
    waitpid(child, &status, 0);
    printf("errors: type 0 %d, past MSGMAX %d; removed %d, the waiter got EIDRM %d, then %d\n", bad_type, too_big, removed,
           WIFEXITED(status) && WEXITSTATUS(status) == 0, result(msgsnd(queue, &one, 4, 0)));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
    char *memory = shmat(id, NULL, 0);
    strcpy(memory, "hello");
    pid_t child = fork();
    if (child == 0) {
        char *again = shmat(id, NULL, 0);
        int saw = strcmp(again, "hello") == 0;
        strcpy(memory + 5000, "world");
        shmdt(again);
        _exit(saw ? 0 : 1);
    }
    int status;
    waitpid(child, &status, 0);
    struct shmid_ds info;
    int stat = shmctl(id, IPC_STAT, &info);
    printf("private: id ok %d, child saw it %d, parent sees \"%s\"; stat %d size %zu attached %lu mode %o creator ok %d\n", id >= 0,
           WIFEXITED(status) && WEXITSTATUS(status) == 0, memory + 5000, stat, info.shm_segsz, (unsigned long)info.shm_nattch,
           info.shm_perm.mode & 0777, info.shm_cpid == getpid());

    // Dropping root: a 0600 segment of root's is closed to another user.
    child = fork();
    if (child == 0) {
        setgid(1000);
        setuid(1000);
        int denied = shmat(id, NULL, 0) == (void *)-1 ? errno : 0;
        int read_only = shmat(id, NULL, SHM_RDONLY) == (void *)-1 ? errno : 0;
        int removal = shmctl(id, IPC_RMID, NULL) == -1 ? errno : 0;
        _exit(denied == EACCES && read_only == EACCES && removal == EPERM ? 0 : 1);
    }
    waitpid(child, &status, 0);
    printf("another user: refused %d\n", WIFEXITED(status) && WEXITSTATUS(status) == 0);

    // Keys.
    key_t key = 0x5a000000 | (getpid() & 0xffffff);
    int made = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0644);
    int exclusive = result(shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0644));
    int found = shmget(key, 0, 0);
    int bigger = result(shmget(key, 8192, 0));
    int missing = result(shmget(key + 1, 4096, 0));
    int tiny = result(shmget(IPC_PRIVATE, 0, IPC_CREAT | 0600));
    printf("keys: made %d, again with IPC_EXCL %d, found the same %d, bigger %d, unknown %d, size 0 %d\n", made >= 0, exclusive, found == made,
           bigger, missing, tiny);

    // IPC_RMID while attached: the key goes at once, the memory with its last attachment.
    char *keyed = shmat(made, NULL, 0);
    keyed[0] = 'k';
    int removed = shmctl(made, IPC_RMID, NULL);
    int gone_key = result(shmget(key, 0, 0));
    struct shmid_ds after;
    shmctl(made, IPC_STAT, &after);
    int still = keyed[0] == 'k';
    int detached = shmdt(keyed);
    int gone = result(shmctl(made, IPC_STAT, &after));
    int bad_detach = result(shmdt(memory + 4096));
    printf("removed: %d, key gone %d, marked %d, still usable %d, detached %d, then stat %d; shmdt mid-segment %d\n", removed, gone_key,
           (after.shm_perm.mode & 01000) != 0, still, detached, gone, bad_detach);
    // A read-only attachment stays read-only: mprotect cannot add writing, and the kernel
    // does not write into it for the program either.
    char *read_only = shmat(id, NULL, SHM_RDONLY);
    int upgrade = result(mprotect(read_only, 4096, PROT_READ | PROT_WRITE));
    int zero = open("/dev/zero", O_RDONLY);
    int filled = result(read(zero, read_only, 16));
    close(zero);
    char line[256], wanted[32];
    int labelled = 0;
    snprintf(wanted, sizeof wanted, "%lx-", (unsigned long)read_only);
    FILE *maps = fopen("/proc/self/maps", "r");
    while (maps && fgets(line, sizeof line, maps)) {
        if (strncmp(line, wanted, strlen(wanted)) == 0) labelled = strstr(line, "r--s") != NULL && strstr(line, "/SYSV00000000 (deleted)") != NULL;
    }
    if (maps) fclose(maps);
    printf("read-only: mprotect %d, read into it %d, maps %d, still \"%s\"\n", upgrade, filled, labelled, read_only);
    shmdt(read_only);
    shmdt(memory);
    shmctl(id, IPC_RMID, NULL);
    printf("cleaned: stat %d, bad command %d\n", result(shmctl(id, IPC_STAT, &info)), result(shmctl(made + 100000, IPC_STAT, &info)));
    semaphores();
    message_queues();
    return 0;
}
