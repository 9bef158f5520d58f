DROP TRIGGER group_members_moved;
DROP TRIGGER group_members_left;
DROP TRIGGER group_members_joined;
ALTER TABLE user_groups DROP COLUMN member_count;
