-- How many members each group has, kept by the database as members join and leave (whatever
-- the path: Add and Remove members, a purge, the demo), so a group's page and Groups read it
-- instead of counting: counting a group of 100,000 members took half the page's 10 ms on
-- every view (issue 13's benchmark, docs/PERFORMANCE.md).
ALTER TABLE user_groups ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0 CHECK (member_count >= 0);
UPDATE user_groups SET member_count =
    (SELECT count(*) FROM group_members WHERE group_members.group_id = user_groups.id);

CREATE TRIGGER group_members_joined AFTER INSERT ON group_members
BEGIN
    UPDATE user_groups SET member_count = member_count + 1 WHERE id = NEW.group_id;
END;

CREATE TRIGGER group_members_left AFTER DELETE ON group_members
BEGIN
    UPDATE user_groups SET member_count = member_count - 1 WHERE id = OLD.group_id;
END;

CREATE TRIGGER group_members_moved AFTER UPDATE OF group_id ON group_members
BEGIN
    UPDATE user_groups SET member_count = member_count - 1 WHERE id = OLD.group_id;
    UPDATE user_groups SET member_count = member_count + 1 WHERE id = NEW.group_id;
END;
