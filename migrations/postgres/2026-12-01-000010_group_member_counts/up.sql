-- How many members each group has, kept by the database as members join and leave (whatever
-- the path: Add and Remove members, a purge, the demo), so a group's page and Groups read it
-- instead of counting: counting a group of 100,000 members took half the page's 10 ms on
-- every view (issue 13's benchmark, docs/PERFORMANCE.md). Once a statement, not once a row:
-- adding 10,000 members updates the group once.
ALTER TABLE user_groups ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0 CHECK (member_count >= 0);
UPDATE user_groups SET member_count =
    (SELECT count(*) FROM group_members WHERE group_members.group_id = user_groups.id);

CREATE FUNCTION group_members_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE user_groups SET member_count = member_count - gone.n
        FROM (SELECT group_id, count(*) AS n FROM old_members GROUP BY group_id) AS gone
        WHERE user_groups.id = gone.group_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE user_groups SET member_count = member_count + came.n
        FROM (SELECT group_id, count(*) AS n FROM new_members GROUP BY group_id) AS came
        WHERE user_groups.id = came.group_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER group_members_joined AFTER INSERT ON group_members
    REFERENCING NEW TABLE AS new_members
    FOR EACH STATEMENT EXECUTE FUNCTION group_members_count();
CREATE TRIGGER group_members_left AFTER DELETE ON group_members
    REFERENCING OLD TABLE AS old_members
    FOR EACH STATEMENT EXECUTE FUNCTION group_members_count();
CREATE TRIGGER group_members_moved AFTER UPDATE ON group_members
    REFERENCING OLD TABLE AS old_members NEW TABLE AS new_members
    FOR EACH STATEMENT EXECUTE FUNCTION group_members_count();
