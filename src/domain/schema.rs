// The tables of migrations/{sqlite,postgres}; one description serves both backends.

diesel::table! {
    tenants (id) {
        id -> BigInt,
        name -> Text,
        domain -> Text,
        license_version -> BigInt,
        created_at -> Timestamp,
        data_exported_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        display_name -> Text,
        name_key -> Text,
        email -> Text,
        password_hash -> Text,
        state -> Text,
        deleted_at -> Nullable<Timestamp>,
        purged_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        guid -> Text,
        given_name -> Text,
        family_name -> Text,
        external_id -> Nullable<Text>,
        work_email -> Nullable<Text>,
        updated_at -> Nullable<Timestamp>,
        version -> BigInt,
        licensed -> Bool,
    }
}

diesel::table! {
    user_roles (user_id, role) {
        user_id -> BigInt,
        role -> Text,
        tenant_id -> BigInt,
    }
}

diesel::table! {
    staff (id) {
        id -> BigInt,
        display_name -> Text,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    products (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        family -> Text,
        monthly_price_cents -> BigInt,
        cancellation_window_days -> Integer,
    }
}

diesel::table! {
    product_services (id) {
        id -> BigInt,
        product_id -> BigInt,
        name -> Text,
        holds_data -> Bool,
    }
}

diesel::table! {
    subscriptions (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        product_id -> BigInt,
        quantity -> Integer,
        billing_period -> Text,
        term_start -> Timestamp,
        term_end -> Timestamp,
        recurring_billing -> Bool,
        purchase_channel -> Text,
        state -> Text,
        self_service_buyer_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        payment_method_id -> Nullable<BigInt>,
        past_due_since -> Nullable<Timestamp>,
        disabled_at -> Nullable<Timestamp>,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    payment_methods (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        holder -> Text,
        brand -> Text,
        last4 -> Text,
        exp_month -> Integer,
        exp_year -> Integer,
        gateway_token -> Text,
        is_default -> Bool,
        created_at -> Timestamp,
        removed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    bills (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        number -> Text,
        issued_at -> Timestamp,
        kind -> Text,
        state -> Text,
        total_cents -> BigInt,
        payment_method -> Text,
    }
}

diesel::table! {
    charges (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        purpose -> Text,
        subscription_id -> Nullable<BigInt>,
        product_id -> BigInt,
        payment_method_id -> BigInt,
        idempotency_key -> Text,
        amount_cents -> BigInt,
        licenses -> Integer,
        term_start -> Timestamp,
        term_end -> Timestamp,
        state -> Text,
        gateway_reference -> Nullable<Text>,
        bill_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        settled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    bill_lines (id) {
        id -> BigInt,
        bill_id -> BigInt,
        subscription_id -> Nullable<BigInt>,
        description -> Text,
        quantity -> Integer,
        amount_cents -> BigInt,
        tenant_id -> BigInt,
    }
}

diesel::table! {
    license_assignments (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        user_id -> BigInt,
        product_id -> BigInt,
        self_service_subscription_id -> Nullable<BigInt>,
        assigned_at -> Timestamp,
        direct -> Bool,
        user_name_key -> Text,
        user_email -> Text,
    }
}

diesel::table! {
    license_counts (tenant_id, product_id, pool) {
        tenant_id -> BigInt,
        product_id -> BigInt,
        pool -> BigInt,
        assigned -> BigInt,
    }
}

diesel::table! {
    data_holds (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        user_id -> BigInt,
        product_id -> BigInt,
        held_until -> Timestamp,
        created_at -> Timestamp,
        service_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    apps_turned_off (user_id, product_id, service_id) {
        tenant_id -> BigInt,
        user_id -> BigInt,
        product_id -> BigInt,
        service_id -> BigInt,
        turned_off_at -> Timestamp,
    }
}

diesel::table! {
    deleted_user_licenses (user_id, product_id) {
        user_id -> BigInt,
        product_id -> BigInt,
        tenant_id -> BigInt,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        tenant_id -> Nullable<BigInt>,
        actor -> Text,
        action -> Text,
        target -> Text,
        detail -> Text,
        client_address -> Nullable<Text>,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        created_at -> Timestamp,
        tenant_id -> Nullable<BigInt>,
        to_email -> Text,
        subject -> Text,
        body -> Text,
        sent_at -> Nullable<Timestamp>,
        link -> Nullable<Text>,
        claim -> Nullable<Text>,
        claimed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    service_requests (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        kind -> Text,
        subject -> Text,
        description -> Text,
        subscription_id -> Nullable<BigInt>,
        quantity -> Nullable<Integer>,
        state -> Text,
        requester_id -> BigInt,
        assigned_staff_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        agreement_id -> Nullable<BigInt>,
        target -> Nullable<Text>,
    }
}

diesel::table! {
    service_request_comments (id) {
        id -> BigInt,
        request_id -> BigInt,
        author_kind -> Text,
        author -> Text,
        body -> Text,
        internal -> Bool,
        created_at -> Timestamp,
        tenant_id -> BigInt,
    }
}

diesel::table! {
    signin_throttle (key) {
        key -> Text,
        failures -> Integer,
        window_start -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    agreements (id) {
        id -> BigInt,
        number -> Text,
        program -> Text,
        customer -> Text,
        customer_key -> Text,
        osm_email -> Text,
        partner -> Text,
        starts_on -> Timestamp,
        next_true_up -> Timestamp,
        tenant_id -> Nullable<BigInt>,
        attached_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    agreement_orders (id) {
        id -> BigInt,
        agreement_id -> BigInt,
        kind -> Text,
        state -> Text,
        placed_by -> Text,
        placed_at -> Timestamp,
        provision_after -> Timestamp,
        invoiced_at -> Nullable<Timestamp>,
        trued_up_at -> Nullable<Timestamp>,
        discount_percent -> Integer,
        total_cents -> BigInt,
    }
}

diesel::table! {
    agreement_order_lines (id) {
        id -> BigInt,
        order_id -> BigInt,
        product_id -> BigInt,
        item -> Text,
        quantity -> Integer,
        amount_cents -> BigInt,
    }
}

diesel::table! {
    agreement_activations (id) {
        id -> BigInt,
        agreement_id -> BigInt,
        token_hash -> Text,
        sent_to -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    agreement_invoices (id) {
        id -> BigInt,
        agreement_id -> BigInt,
        number -> Text,
        kind -> Text,
        issued_at -> Timestamp,
        addressed_to -> Text,
        total_cents -> BigInt,
        anniversary -> Nullable<Timestamp>,
    }
}

diesel::table! {
    agreement_subscriptions (subscription_id) {
        subscription_id -> BigInt,
        agreement_id -> BigInt,
        product_id -> BigInt,
    }
}

diesel::table! {
    subscription_addons (subscription_id) {
        subscription_id -> BigInt,
        production_instances -> Integer,
        storage_gb -> Integer,
        tenant_id -> BigInt,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        tenant_id -> Nullable<BigInt>,
        user_id -> Nullable<BigInt>,
        staff_id -> Nullable<BigInt>,
        door -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        ended_reason -> Nullable<Text>,
    }
}

diesel::table! {
    user_groups (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        name -> Text,
        name_key -> Text,
        description -> Text,
        created_at -> Timestamp,
        member_count -> BigInt,
        guid -> Text,
        external_id -> Nullable<Text>,
        updated_at -> Nullable<Timestamp>,
        version -> BigInt,
    }
}

diesel::table! {
    group_members (group_id, user_id) {
        tenant_id -> BigInt,
        group_id -> BigInt,
        user_id -> BigInt,
        added_at -> Timestamp,
    }
}

diesel::table! {
    group_licenses (group_id, product_id) {
        tenant_id -> BigInt,
        group_id -> BigInt,
        product_id -> BigInt,
        assigned_at -> Timestamp,
    }
}

diesel::table! {
    inherited_licenses (user_id, product_id, group_id) {
        tenant_id -> BigInt,
        user_id -> BigInt,
        product_id -> BigInt,
        group_id -> BigInt,
    }
}

diesel::table! {
    group_apps_turned_off (group_id, product_id, service_id) {
        tenant_id -> BigInt,
        group_id -> BigInt,
        product_id -> BigInt,
        service_id -> BigInt,
        turned_off_at -> Timestamp,
    }
}

diesel::table! {
    group_license_errors (group_id, product_id, user_id) {
        tenant_id -> BigInt,
        group_id -> BigInt,
        product_id -> BigInt,
        user_id -> BigInt,
        reason -> Text,
        noted_at -> Timestamp,
    }
}

diesel::table! {
    group_jobs (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        group_id -> BigInt,
        state -> Text,
        total -> Integer,
        done -> Integer,
        assigned -> Integer,
        failed -> Integer,
        after_user -> Nullable<BigInt>,
        started_by -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        name -> Text,
        name_key -> Text,
        scopes -> Text,
        secret_hash -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    license_pools (tenant_id, product_id) {
        tenant_id -> BigInt,
        product_id -> BigInt,
        sku_id -> Text,
    }
}

diesel::table! {
    license_usage_days (tenant_id, product_id, day) {
        tenant_id -> BigInt,
        product_id -> BigInt,
        day -> Date,
        licenses -> BigInt,
        assigned -> BigInt,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        kind -> Text,
        about -> Text,
        subject -> Text,
        body -> Text,
        link -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    message_reads (tenant_id, user_id, message_id) {
        tenant_id -> BigInt,
        user_id -> BigInt,
        message_id -> BigInt,
        read_at -> Timestamp,
    }
}

diesel::table! {
    license_alerts (tenant_id, product_id) {
        tenant_id -> BigInt,
        product_id -> BigInt,
        below -> Integer,
        alerted -> Bool,
    }
}

diesel::table! {
    notification_choices (tenant_id, user_id, kind) {
        tenant_id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        email -> Bool,
    }
}

diesel::joinable!(users -> tenants (tenant_id));
diesel::joinable!(license_alerts -> products (product_id));
diesel::joinable!(message_reads -> messages (message_id));
diesel::joinable!(api_tokens -> tenants (tenant_id));
diesel::joinable!(license_pools -> tenants (tenant_id));
diesel::joinable!(license_pools -> products (product_id));
diesel::joinable!(license_usage_days -> products (product_id));
diesel::joinable!(license_usage_days -> tenants (tenant_id));
diesel::joinable!(agreement_subscriptions -> subscriptions (subscription_id));
diesel::joinable!(agreement_subscriptions -> agreements (agreement_id));
diesel::joinable!(subscription_addons -> subscriptions (subscription_id));
diesel::joinable!(agreement_orders -> agreements (agreement_id));
diesel::joinable!(agreement_order_lines -> agreement_orders (order_id));
diesel::joinable!(agreement_order_lines -> products (product_id));
diesel::joinable!(agreement_activations -> agreements (agreement_id));
diesel::joinable!(agreement_invoices -> agreements (agreement_id));
diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(product_services -> products (product_id));
diesel::joinable!(group_members -> users (user_id));
diesel::joinable!(group_members -> user_groups (group_id));
diesel::joinable!(group_licenses -> products (product_id));
diesel::joinable!(group_licenses -> user_groups (group_id));
diesel::joinable!(group_license_errors -> users (user_id));
diesel::joinable!(group_license_errors -> products (product_id));
diesel::joinable!(inherited_licenses -> user_groups (group_id));
diesel::table! {
    user_imports (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        file_name -> Text,
        state -> Text,
        total -> Integer,
        done -> Integer,
        created -> Integer,
        started_by_user -> Nullable<BigInt>,
        previewed_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        passwords_downloaded_at -> Nullable<Timestamp>,
        passwords_expired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    user_import_rows (import_id, row_number) {
        import_id -> BigInt,
        tenant_id -> BigInt,
        row_number -> Integer,
        display_name -> Text,
        email -> Text,
        licenses -> Text,
        preview -> Text,
        preview_detail -> Text,
        outcome -> Nullable<Text>,
        outcome_detail -> Text,
        user_id -> Nullable<BigInt>,
        password -> Nullable<Text>,
    }
}

diesel::joinable!(group_jobs -> user_groups (group_id));
diesel::joinable!(user_import_rows -> user_imports (import_id));
diesel::joinable!(group_apps_turned_off -> product_services (service_id));
diesel::joinable!(subscriptions -> tenants (tenant_id));
diesel::joinable!(subscriptions -> products (product_id));
diesel::joinable!(license_assignments -> users (user_id));
diesel::joinable!(license_assignments -> products (product_id));
diesel::joinable!(data_holds -> users (user_id));
diesel::joinable!(data_holds -> products (product_id));
diesel::joinable!(deleted_user_licenses -> products (product_id));
diesel::joinable!(apps_turned_off -> product_services (service_id));
diesel::joinable!(audit_log -> tenants (tenant_id));
diesel::joinable!(bill_lines -> bills (bill_id));
diesel::joinable!(charges -> tenants (tenant_id));
diesel::joinable!(charges -> products (product_id));
diesel::joinable!(charges -> payment_methods (payment_method_id));
diesel::joinable!(charges -> bills (bill_id));
diesel::joinable!(bills -> tenants (tenant_id));
diesel::joinable!(payment_methods -> tenants (tenant_id));
diesel::joinable!(outbox -> tenants (tenant_id));
diesel::joinable!(service_requests -> tenants (tenant_id));
diesel::joinable!(service_requests -> users (requester_id));
diesel::joinable!(service_requests -> staff (assigned_staff_id));
diesel::joinable!(service_requests -> subscriptions (subscription_id));
diesel::joinable!(service_request_comments -> service_requests (request_id));
diesel::joinable!(sessions -> tenants (tenant_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(sessions -> staff (staff_id));

diesel::table! {
    /// The users of each tenant by state, kept by triggers on users (Active users' total).
    user_counts (tenant_id, state) {
        tenant_id -> BigInt,
        state -> Text,
        users -> BigInt,
        licensed -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    users,
    user_roles,
    staff,
    products,
    product_services,
    subscriptions,
    payment_methods,
    bills,
    bill_lines,
    charges,
    license_assignments,
    license_counts,
    data_holds,
    apps_turned_off,
    deleted_user_licenses,
    audit_log,
    outbox,
    signin_throttle,
    service_requests,
    service_request_comments,
    agreements,
    agreement_orders,
    agreement_order_lines,
    agreement_activations,
    agreement_invoices,
    agreement_subscriptions,
    subscription_addons,
    sessions,
    user_groups,
    group_members,
    group_licenses,
    inherited_licenses,
    group_license_errors,
    group_jobs,
    group_apps_turned_off,
    api_tokens,
    license_pools,
    license_usage_days,
    messages,
    message_reads,
    license_alerts,
    notification_choices,
    user_imports,
    user_import_rows,
    user_counts,
);
