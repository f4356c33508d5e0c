from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idOwaspHasher(Argon2PasswordHasher):
    """Argon2id with OWASP's minimum parameters: 19 MiB of memory, 2 passes, 1 lane.

    Django's default (100 MiB, 8 lanes) costs about five times the memory per login; on a
    2-core worker serving a login burst that is the difference between queueing and swapping,
    while OWASP's set is still far beyond what a GPU farm can attack cheaply. The algorithm
    name stays "argon2", so hashes made with other parameters still verify and are re-hashed
    with these on the member's next login (Django's `must_update`).
    """

    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1
