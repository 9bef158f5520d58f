DROP TRIGGER group_members_moved ON group_members;
DROP TRIGGER group_members_left ON group_members;
DROP TRIGGER group_members_joined ON group_members;
DROP FUNCTION group_members_count();
ALTER TABLE user_groups DROP COLUMN member_count;
